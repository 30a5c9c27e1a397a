"""NN401-NN403: explicit penalties and weight decay (issue 5 precision bar)."""

import pytest

from nnlint.testing import codes, lint


def only(code, rule, **kwargs):
    return [c for c in codes(code, select=[rule], **kwargs) if c[2] == rule]


# -- NN401 regularization-dominates-loss ------------------------------------------------------

def test_nn401_generator_penalty_with_large_coefficient():
    code = '''
import torch.nn.functional as F


def step(model, x, y):
    ce = F.cross_entropy(model(x), y)
    loss = ce + 0.1 * sum(p.pow(2).sum() for p in model.parameters())
    return loss
'''
    assert only(code, "NN401") == [(7, 17, "NN401")]


def test_nn401_penalty_accumulated_in_a_loop_then_added():
    code = '''
import torch


def step(model, x, y, criterion):
    loss = criterion(model(x), y)
    l2 = 0
    for p in model.parameters():
        l2 += torch.norm(p)
    loss += 0.01 * l2
    return loss
'''
    assert only(code, "NN401") == [(10, 13, "NN401")]


def test_nn401_coefficient_set_in_main_and_passed_as_a_keyword():
    code = '''
import torch.nn.functional as F


def custom_loss(outputs, targets, model, l2_lambda=1e-5):
    l2 = sum((p ** 2).sum() for p in model.parameters())
    return F.mse_loss(outputs, targets) + l2_lambda * l2


if __name__ == "__main__":
    l2_lambda = 0.1
    loss = custom_loss(out, y, net, l2_lambda=l2_lambda)
'''
    assert only(code, "NN401") == [(7, 43, "NN401")]


@pytest.mark.parametrize("coefficient", ["1e-5", "5e-4"])
def test_nn401_silent_for_small_coefficients(coefficient):
    code = f'''
import torch.nn.functional as F


def step(model, x, y):
    l2 = sum(p.pow(2).sum() for p in model.parameters())
    return F.cross_entropy(model(x), y) + {coefficient} * l2
'''
    assert only(code, "NN401") == []


def test_nn401_silent_for_a_penalty_only_in_comments_or_strings():
    code = '''
import torch.nn.functional as F


def step(model, x, y):
    # loss = ce + 0.1 * sum(p.pow(2).sum() for p in model.parameters())
    doc = "loss = ce + 0.1 * sum(p.pow(2).sum() for p in model.parameters())"
    return F.cross_entropy(model(x), y)
'''
    assert only(code, "NN401") == []


def test_nn401_silent_below_a_configured_threshold_and_for_one_tensor():
    code = '''
import torch.nn.functional as F


def step(model, x, y):
    l2 = sum(p.pow(2).sum() for p in model.parameters())
    smooth = 0.5 * model.embedding.weight.pow(2).sum()
    return F.cross_entropy(model(x), y) + 0.05 * l2 + smooth
'''
    assert only(code, "NN401") == [(8, 43, "NN401")]
    assert only(code, "NN401", options={"NN401": {"max-coefficient": 0.1}}) == []


def test_nn401_keras_kernel_regularizer():
    code = '''
from tensorflow.keras import layers, regularizers

dense = layers.Dense(64, kernel_regularizer=regularizers.l2(0.1))
small = layers.Dense(64, kernel_regularizer=regularizers.l2(1e-4))
'''
    assert only(code, "NN401") == [(4, 45, "NN401")]
    (diag,) = lint(code, select=["NN401"])
    assert diag.message == ("'regularizers.l2(0.1)' adds 0.1 x the sum of the squared weights it regularizes to "
                            "the loss (>= 0.01); use a smaller factor (1e-5 to 1e-4)")


def test_nn401_messages_say_what_the_penalty_sums():
    code = '''
import torch.nn.functional as F
from tensorflow.keras import layers, regularizers

dense = layers.Dense(64, kernel_regularizer=regularizers.l1(0.05))
mixed = layers.Dense(64, kernel_regularizer=regularizers.l1_l2(l1=0.01, l2=0.02))


def step(model, x, y):
    return F.cross_entropy(model(x), y) + 0.1 * sum(p.abs().sum() for p in model.encoder.parameters())
'''
    assert [(d.line, d.column, d.message) for d in lint(code, select=["NN401"])] == [
        (5, 45, "'regularizers.l1(0.05)' adds 0.05 x the sum of the absolute weights it regularizes to the loss "
                "(>= 0.01); use a smaller factor (1e-5 to 1e-4)"),
        (6, 45, "'regularizers.l1_l2(l1=0.01, l2=0.02)' adds the L1 and L2 sums of the weights it regularizes to "
                "the loss, weighted up to 0.02 (>= 0.01); use a smaller factor (1e-5 to 1e-4)"),
        (10, 43, "this parameter-norm penalty has coefficient 0.1 (>= 0.01); summed over the model's weights it can "
                 "dominate the data loss; use a smaller coefficient (1e-5 to 1e-4), or the optimizer's weight_decay "
                 "for an L2 penalty"),
    ]


NN401_SHAPES = '''\
import itertools

import torch
import torch.nn.functional as F

L2_WEIGHT = 0.05


def l2_penalty(model):
    total = 0.0
    for p in model.parameters():
        total = total + p.pow(2).sum()
    return total


def l1_penalty(*models):
    return sum(p.abs().sum() for m in models for p in m.parameters())


def norm_of(params):
    return sum(torch.norm(p) ** 2 for p in params)


def train_helper(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) + 0.1 * l2_penalty(model)  # A: helper, literal
        loss.backward()
        optimizer.step()


def train_two(encoder, decoder, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.mse_loss(decoder(encoder(x)), y)
        loss += L2_WEIGHT * l1_penalty(encoder, decoder)  # B: several models, constant, +=
        loss.backward()
        optimizer.step()


def train_chain(encoder, head, loader, optimizer, lam):
    for x, y in loader:
        optimizer.zero_grad()
        total = 0
        for p in itertools.chain(encoder.parameters(), head.parameters()):
            total += p.pow(2).sum()
        reg = lam * total  # C: chained, coefficient later, positional argument
        loss = F.cross_entropy(head(encoder(x)), y) + reg
        loss.backward()
        optimizer.step()


def train_params_arg(model, loader, optimizer, weight_decay=1e-5):
    for x, y in loader:
        optimizer.zero_grad()
        penalty = norm_of(model.parameters())
        loss = F.cross_entropy(model(x), y) + weight_decay * penalty  # D: params passed as argument, keyword
        loss.backward()
        optimizer.step()


def main(encoder, decoder, head, model, loader, optimizer):
    train_chain(encoder, head, loader, optimizer, 0.5)
    train_params_arg(model, loader, optimizer, weight_decay=0.02)
    coeff = 0.2
    for x, y in loader:
        optimizer.zero_grad()
        params = list(model.parameters())
        reg = sum(w.pow(2).sum() for w in params)
        loss = F.cross_entropy(model(x), y)
        loss = loss + coeff * reg  # E: variable, list of parameters
        loss.backward()
        optimizer.step()
'''


def test_nn401_every_penalty_shape_fires_at_the_product():
    # A helper over one model, literal coefficient; B a generator over several models, module
    # constant, `loss +=`; C a loop over itertools.chain, coefficient applied later from a positional
    # argument; D parameters passed to a helper, keyword argument at the call site; E a list of
    # parameters, a variable coefficient
    assert only(NN401_SHAPES, "NN401") == [(27, 47, "NN401"), (36, 17, "NN401"), (47, 15, "NN401"),
                                           (57, 47, "NN401"), (71, 23, "NN401")]


NN401_CLEAN = '''\
import itertools

import torch
import torch.nn.functional as F

L2_WEIGHT = 1e-4


def l2_penalty(*models):
    return sum(p.pow(2).sum() for m in models for p in m.parameters())


def embedding_penalty(model):
    return model.embedding.weight.pow(2).sum()


def activation_penalty(hidden_states):
    return sum(h.pow(2).mean() for h in hidden_states)


def train(encoder, decoder, loader, optimizer, lam):
    for x, y in loader:
        optimizer.zero_grad()
        hidden = encoder(x)
        loss = F.mse_loss(decoder(hidden), y)
        loss += L2_WEIGHT * l2_penalty(encoder, decoder)  # a small coefficient
        loss = loss + 0.5 * embedding_penalty(encoder)  # one tensor, not the parameters
        loss = loss + 0.1 * activation_penalty([hidden])  # activations, not parameters
        total = 0
        for p in itertools.chain(encoder.parameters(), decoder.parameters()):
            total += p.pow(2).sum()
        loss = loss + lam * total  # lam is 1e-5 at the only call site
        # loss = loss + 0.1 * total
        loss.backward()
        optimizer.step()


def main(encoder, decoder, loader, optimizer):
    train(encoder, decoder, loader, optimizer, 1e-5)
'''


def test_nn401_silent_for_small_coefficients_single_tensors_activations_and_comments():
    assert only(NN401_CLEAN, "NN401") == []


# -- NN402 weight-decay-too-large -------------------------------------------------------------

def value_column(call):
    """Column of the weight_decay value in `optimizer = <call>`."""
    return 1 + len("optimizer = ") + call.index("weight_decay=") + len("weight_decay=")


@pytest.mark.parametrize("call", [
    "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)",
    "torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.05)",
    "torch.optim.NAdam(model.parameters(), weight_decay=0.05)",
    'dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=0.05)',
])
def test_nn402_fires_on_coupled_decay(call):
    code = f"import torch\n\noptimizer = {call}\n"
    assert only(code, "NN402") == [(3, value_column(call), "NN402")]


def test_nn402_suggests_adamw_only_for_the_adam_family():
    messages = [d.message for d in lint("import torch\n\nsgd = torch.optim.SGD(params, weight_decay=0.1)\n"
                                        "adam = torch.optim.Adam(params, weight_decay=0.1)\n", select=["NN402"])]
    assert messages == [
        "weight_decay=0.1 in SGD is an L2 term added to every gradient (>= 0.01); typical values are 1e-4 to 5e-4",
        "weight_decay=0.1 in Adam is an L2 term added to every gradient (>= 0.01); typical values are 1e-4 to 5e-4, "
        "or use AdamW for decoupled decay",
    ]


@pytest.mark.parametrize("call", [
    "torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)",
    "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)",
    "torch.optim.NAdam(model.parameters(), weight_decay=0.05, decoupled_weight_decay=True)",
    'dict(type="AdamW", lr=1e-4, weight_decay=0.05)',
    "torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=args.wd)",
])
def test_nn402_silent_for_decoupled_or_small_decay(call):
    code = f"import torch\n\noptimizer = {call}\n"
    assert only(code, "NN402") == []


def test_nn402_option_max_weight_decay():
    code = "import torch\n\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.02)\n"
    assert only(code, "NN402") == [(3, 70, "NN402")]
    assert only(code, "NN402", options={"NN402": {"max-weight-decay": 0.05}}) == []


# -- NN403 adam-coupled-weight-decay ----------------------------------------------------------

def test_nn403_adam_with_weight_decay_off_by_default():
    code = "import torch\n\noptimizer = torch.optim.Adam(model.parameters(), weight_decay=1e-4)\n"
    assert [c for c in codes(code) if c[2] == "NN403"] == []
    assert only(code, "NN403") == [(3, 63, "NN403")]
    clean = "import torch\n\noptimizer = torch.optim.AdamW(model.parameters(), weight_decay=1e-2)\n"
    assert only(clean, "NN403") == []
    assert only("import torch\n\nopt = torch.optim.Adam(model.parameters(), weight_decay=0)\n", "NN403") == []
