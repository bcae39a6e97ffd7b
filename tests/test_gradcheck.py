"""The checker itself: it must pass correct gradients and fail wrong ones, with tight tolerances."""

import re

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import Function, GradcheckError, Tensor, backend, gradcheck


def x64(shape=(2, 3), seed=0, requires_grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)


class Square(Function):
    """x^2 with a correct backward."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * 2 * self.x


class WrongSquare(Square):
    """x^2 whose backward forgets the factor 2."""

    def backward(self, grad):
        return grad * self.x


class SlightlyWrongSquare(Square):
    """x^2 whose backward is 1% off: tolerances as loose as minitorch's 1e-2 would let it through."""

    def backward(self, grad):
        return grad * 2.02 * self.x


class DiagonalOnlyProduct(Function):
    """a * b where the backward swaps nothing: wrong for the second input only."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.b


class WrongShapeGrad(Function):
    """Identity whose backward returns the gradient transposed (same size, wrong shape)."""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad.T


def test_correct_backward_passes():
    assert gradcheck(Square.apply, x64()) is True


def test_wrong_backward_fails_with_a_clear_message():
    x = x64()
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 3\)\): gradient mismatch at index"):
        gradcheck(WrongSquare.apply, x)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_one_percent_error_fails():
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyWrongSquare.apply, x64())


def test_wrong_gradient_for_second_input_is_named():
    a, b = x64(seed=1), x64(seed=2)
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(DiagonalOnlyProduct.apply, (a, b))


def test_raise_exception_false_returns_false():
    assert gradcheck(WrongSquare.apply, x64(), raise_exception=False) is False


def test_wrong_gradient_shape_is_refused_by_the_engine():
    with pytest.raises(ValueError, match="does not broadcast"):
        gradcheck(WrongShapeGrad.apply, x64((2, 3)))


class Float32Grad(Square):
    """x^2 whose backward rounds its gradient to float32: right values, wrong precision."""

    def backward(self, grad):
        return (grad * 2 * self.x).astype(np.float32)


def test_a_gradient_of_another_dtype_fails():
    with pytest.raises(GradcheckError, match="the gradient is float32 of shape \\(2, 3\\), the input float64"):
        gradcheck(Float32Grad.apply, x64(), atol=1e-3)


def test_inputs_are_restored_after_passing_and_failing_checks():
    for fn in (Square.apply, WrongSquare.apply):
        x = x64()
        before = x.numpy().copy()
        gradcheck(fn, x, raise_exception=False)
        np.testing.assert_array_equal(x.numpy(), before)


def test_checks_only_inputs_that_require_grad():
    a, b = x64(seed=1), x64(seed=2, requires_grad=False)
    assert gradcheck(DiagonalOnlyProduct.apply, (a, b))  # b's wrong gradient is never looked at
    assert b.grad is None


def test_float32_inputs_are_refused():
    x = Tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(Square.apply, x)


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(Square.apply, x64(requires_grad=False))


def test_non_contiguous_input():
    data = np.random.default_rng(0).standard_normal((3, 2)).T  # a transposed view: not C-contiguous
    assert not data.flags.c_contiguous
    x = Tensor(data, requires_grad=True)
    assert gradcheck(Square.apply, x)


def test_zero_dimensional_input():
    assert gradcheck(Square.apply, Tensor(np.float64(1.5), requires_grad=True))


def test_default_tolerances_are_tight():
    import inspect

    defaults = {k: v.default for k, v in inspect.signature(gradcheck).parameters.items()}
    assert (defaults["eps"], defaults["atol"], defaults["rtol"]) == (1e-6, 1e-5, 1e-3)


def test_checks_vector_jacobian_product_not_only_row_sums():
    """A backward that gives every output the same cotangent's sum would pass with u = ones."""

    class SumOfCotangent(Function):  # y = x * 3 (elementwise), backward wrong unless grad is constant
        def forward(self, x):
            return 3 * x

        def backward(self, grad):
            return backend.xp.full_like(grad, 3 * grad.mean().item())

    x = Tensor(np.ones((4,)), requires_grad=True)
    (SumOfCotangent.apply(x)).backward(np.ones(4))
    np.testing.assert_allclose(sn.to_numpy(x.grad), 3.0)  # right for a constant cotangent
    with pytest.raises(GradcheckError):
        gradcheck(SumOfCotangent.apply, Tensor(np.ones((4,)), requires_grad=True))


def test_exported_at_top_level():
    assert sn.gradcheck is gradcheck and sn.GradcheckError is GradcheckError


class NanGrad(Square):
    """x^2 whose backward returns NaN."""

    def backward(self, grad):
        return grad * backend.xp.nan


def test_a_nan_numerical_gradient_fails():
    x = Tensor(np.array([-1.0, -2.0]), requires_grad=True)  # log is NaN there, so is its difference
    with np.errstate(invalid="ignore"), pytest.raises(GradcheckError, match=r"numerical gradient is nan at index \(0,\)"):
        gradcheck(lambda t: t.log(), x)


def test_a_nan_analytic_gradient_fails():
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 3\)\): the analytic gradient is nan"):
        gradcheck(NanGrad.apply, x64())
    assert gradcheck(NanGrad.apply, x64(), raise_exception=False) is False


def test_an_infinite_analytic_gradient_fails():
    x = Tensor(np.array([0.5, 0.0]), requires_grad=True)  # d log / dx = 1/x is inf at 0
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(GradcheckError, match="analytic gradient is -?inf"):
        gradcheck(lambda t: t.log(), x)


def test_mismatch_index_is_printed_as_plain_ints():
    with pytest.raises(GradcheckError) as error:
        gradcheck(WrongSquare.apply, x64())
    assert "np.int64" not in str(error.value)
    assert re.search(r"at index \(\d, \d\):", str(error.value))


def test_an_existing_gradient_is_put_back():
    x = x64()
    kept = backend.xp.ones((2, 3))
    x.grad = kept
    for fn in (Square.apply, WrongSquare.apply):
        gradcheck(fn, x, raise_exception=False)
        assert x.grad is kept


def test_an_input_without_a_gradient_is_left_without_one():
    x = x64()
    assert gradcheck(Square.apply, x)
    assert x.grad is None


def test_inputs_are_restored_when_the_function_raises_during_the_check():
    calls = []

    def fails_on_its_second_call(t):
        calls.append(1)
        if len(calls) == 2:  # the first perturbed evaluation
            raise RuntimeError("boom")
        return Square.apply(t)

    x = x64()
    before, kept = x.numpy().copy(), backend.xp.zeros((2, 3))
    x.grad = kept
    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(fails_on_its_second_call, x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is kept
