"""Input gradients under torch's grad modes: the adversarial steps and evaluate say what to do
under torch.no_grad() and torch.inference_mode() (different advice: enable_grad lifts only the
first), work inside enable_grad, and a model that cuts its own graph is one clear error."""
import pytest
import torch

import augnoise
from augnoise.adversarial import evaluate
from augnoise.core.errors import StepFailed

torch.use_deterministic_algorithms(False)


def net():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    w = torch.linspace(-1, 1, 48, dtype=torch.float32).reshape(3, 16)  # fixed weights, no global RNG
    with torch.no_grad():
        model[1].weight.copy_(w)
        model[1].bias.zero_()
    return model


X = torch.linspace(0.1, 0.9, 6 * 16).reshape(6, 1, 4, 4)
Y = torch.tensor([0, 1, 2, 0, 1, 2])
STEPS = ["adversarial.FGSM: {eps: 0.1}", "adversarial.FGSMNoise: {eps: 0.1, variant: fgsm_rs, noise_std: 0.01}"]

NO_GRAD = (r"runs with gradients disabled \(torch.no_grad\(\) or torch.set_grad_enabled\(False\)\); {action} outside "
           r"that block or inside `with torch.enable_grad\(\):`$")
INFERENCE = (r"runs under torch.inference_mode\(\), which torch.enable_grad\(\) does not lift; {action} outside the "
             r"torch.inference_mode\(\) block or inside `with torch.inference_mode\(False\):` \(Lightning: "
             r"Trainer\(inference_mode=False\)\)$")


def pipe(step):
    return augnoise.loads(f"seed: 3\nsample: []\nbatch:\n  - {step}\n")


def grad_disabled():
    return torch.set_grad_enabled(False)


@pytest.mark.parametrize("step", STEPS, ids=["FGSM", "FGSMNoise"])
@pytest.mark.parametrize("context, advice", [(torch.no_grad, NO_GRAD), (grad_disabled, NO_GRAD),
                                             (torch.inference_mode, INFERENCE)],
                         ids=["no_grad", "set_grad_enabled(False)", "inference_mode"])
def test_step_under_disabled_gradients_is_a_located_input_error(step, context, advice):
    name = step.split(":")[0]
    msg = (rf"^batch step 1 \({name}\): adversarial steps need input gradients, but the batch stage "
           + advice.format(action=r"run apply_batch \(or iterate the loader\)"))
    with context(), pytest.raises(augnoise.InputError, match=msg) as info:
        pipe(step).apply_batch(X, range(6), model=net(), targets=Y)
    assert isinstance(info.value, StepFailed) and "\n" not in str(info.value)


@pytest.mark.parametrize("step", STEPS, ids=["FGSM", "FGSMNoise"])
def test_enable_grad_inside_no_grad_works_and_matches(step):
    want = pipe(step).apply_batch(X, range(6), model=net(), targets=Y)
    with torch.no_grad():
        with torch.enable_grad():
            got = pipe(step).apply_batch(X, range(6), model=net(), targets=Y)
    assert torch.equal(got, want) and not torch.equal(got, X)
    with torch.inference_mode():  # enable_grad does not lift inference mode: still the clear error
        with torch.enable_grad(), pytest.raises(augnoise.InputError, match=r"torch.enable_grad\(\) does not lift"):
            pipe(step).apply_batch(X, range(6), model=net(), targets=Y)
        x_inf = X.clone()
        with torch.inference_mode(False):  # the advice given works, also on a batch made in inference mode
            assert x_inf.is_inference()
            assert torch.equal(pipe(step).apply_batch(x_inf, range(6), model=net(), targets=Y), want)


@pytest.mark.parametrize("context, advice", [(torch.no_grad, NO_GRAD), (torch.inference_mode, INFERENCE)],
                         ids=["no_grad", "inference_mode"])
def test_evaluate_under_disabled_gradients(context, advice):
    msg = r"^evaluate: FGSM and PGD need input gradients, but evaluate " + advice.format(action="call evaluate")
    model = net()
    model.train()
    with context(), pytest.raises(augnoise.InputError, match=msg):
        evaluate(model, [(X, Y)], eps=0.1, pgd_steps=3)
    assert model.training  # refused before anything changed
    want = evaluate(model, [(X, Y)], eps=0.1, pgd_steps=3, noise_levels=(0.1,))
    with torch.no_grad(), torch.enable_grad():
        assert evaluate(model, [(X, Y)], eps=0.1, pgd_steps=3, noise_levels=(0.1,)) == want


class CutsGraph(torch.nn.Module):
    """A forward that detaches its input: no input gradient exists."""

    def __init__(self):
        super().__init__()
        self.inner = net()

    def forward(self, x):
        return self.inner(x.detach())


def test_a_model_that_cuts_its_graph_is_one_clear_error():
    with pytest.raises(augnoise.InputError, match=r"^batch step 1 \(adversarial.FGSM\): the loss does not depend on the input "
                                                  r"through autograd: the model ignores it or cuts the graph "
                                                  r"\(torch.no_grad\(\), .detach\(\) or numpy inside forward\); adversarial attacks need a "
                                                  r"differentiable model$"):
        pipe(STEPS[0]).apply_batch(X, range(6), model=CutsGraph(), targets=Y)
    with pytest.raises(augnoise.InputError, match=r"^evaluate: batch 0: the loss does not depend on the input through autograd"):
        evaluate(CutsGraph(), [(X, Y)], eps=0.1, pgd_steps=3)
