"""Q1: the bump loss, gradient descent trapped, Adam's overshoot and h*, the phase sweep, the docs."""

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from coursework import bump

from scratchnet import Tensor

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT_TABLE = [(0.3, 0.7), (0.6, 0.4), (0.9, 0.1), (1.2, 0.2), (0.9, 0.1), (1.2, 0.2)]


def load_example(name):
    """Import examples/<name>.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def q1a():
    return load_example("q1a_gd")


@pytest.fixture(scope="module")
def q1b():
    return load_example("q1b_adam")


@pytest.fixture(scope="module")
def q1_phase():
    return load_example("q1_phase")


# ---------------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("h", [0.1, 0.5, 2.0])
def test_bump_loss_autograd_slopes_are_minus_plus_minus_plus(h):
    x_g = bump.global_minimum(h)
    assert x_g == pytest.approx(1 + h + (h + 1))
    inside = [0.5, 1 + h / 2, (1 + h + x_g) / 2, x_g + 1]  # one point inside each of the four pieces
    x = Tensor(np.array(inside), requires_grad=True, dtype="float64")
    bump.bump_loss(x, h).sum().backward()
    assert x.grad.tolist() == [-1.0, 1.0, -1.0, 1.0]


def test_bump_loss_landmarks_and_kinks():
    h = 0.5
    x = Tensor(np.array([1.0, bump.bump_top(h), bump.global_minimum(h), 0.0]), requires_grad=True, dtype="float64")
    loss = bump.bump_loss(x, h)
    assert loss.numpy() == pytest.approx([0.0, h, -1.0, 1.0])
    loss.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, -1.0]  # subgradients: 0 at x = 1 and x_g, +1 at the top


def test_bump_loss_takes_one_height_per_entry_and_rejects_negative_heights():
    x = Tensor(np.array([1.2, 1.2]), requires_grad=True, dtype="float64")
    bump.bump_loss(x, np.array([0.1, 0.5])).sum().backward()
    assert x.grad.tolist() == [-1.0, 1.0]  # past the top of the low bump, on the rise of the tall one
    with pytest.raises(ValueError, match="h must be >= 0"):
        bump.bump_loss(x, -0.1)


# ---------------------------------------------------------------------------------------------------
# Q1(a)
# ---------------------------------------------------------------------------------------------------


def test_q1a_prints_the_assignment_table_and_detects_the_trap(q1a, capsys):
    result = q1a.main([])
    out = capsys.readouterr().out
    trajectory = result["trajectory"]
    got = [(round(x, 4), round(loss, 4)) for x, loss in zip(trajectory.xs[1:], trajectory.losses[1:])]
    assert got == ASSIGNMENT_TABLE
    for step, (x, loss) in enumerate(ASSIGNMENT_TABLE, 1):
        assert re.search(rf"^\s*{step}\s+{x:.4f}\s+{loss:.4f}\s", out, re.MULTILINE)
    assert result["stuck"] and result["escape_step"] is None
    assert result["cycle"] == (3, 2)
    assert result["cycle_points"] == pytest.approx([0.9, 1.2])
    assert "stuck oscillating" in out and "0.9000 and 1.2000" in out


def test_q1a_low_bump_escapes_and_too_few_steps_is_undecided(q1a, capsys):
    low = q1a.main(["--h", "0.1", "--steps", "12"])
    assert low["escape_step"] == 4 and not low["stuck"]
    short = q1a.main(["--steps", "2"])
    assert short["cycle"] is None and not short["stuck"]
    out = capsys.readouterr().out
    assert "escaped: step 4" in out and "undecided" in out


def test_find_cycle():
    assert bump.find_cycle([0.0, 0.3, 0.6, 0.9, 1.2, 0.9, 1.2]) == (3, 2)
    assert bump.find_cycle([0.0, 0.5, 1.0, 1.0]) == (2, 1)
    assert bump.find_cycle([0.0, 0.3, 0.6]) is None


# ---------------------------------------------------------------------------------------------------
# Q1(b)
# ---------------------------------------------------------------------------------------------------


def test_q1b_overshoot_and_bisection_agree(q1b, capsys):
    result = q1b.main([])
    out = capsys.readouterr().out
    assert f"{result['max_x']:.4f}" == "1.4102"
    assert result["trajectory"].xs.index(result["max_x"]) == 6
    assert not result["trajectory"].escaped  # the overshoot was measured without crossing the bump
    assert f"{result['h_overshoot']:.4f}" == "0.4102"
    assert abs(result["h_bisection"] - result["h_overshoot"]) < 1e-6 and result["agree"]
    assert f"{result['assignment_max_x']:.4f}" == "1.4102"
    assert result["v_hat_error"] < 1e-12
    assert "max x = 1.4102" in out and "h* = max x - 1 = 0.4102" in out and "h* = 0.4102" in out
    for step in range(1, 21):  # the m_hat column is the step taken, over lr
        trajectory = result["trajectory"]
        m_hat = (trajectory.xs[step - 1] - trajectory.xs[step]) / 0.3
        assert re.search(rf"^\s*{step}\s+{trajectory.xs[step]:.4f}\s.*\s{m_hat:.4f}$", out, re.MULTILINE)


def test_q1b_critical_height_splits_the_bumps_escaped_from_those_not():
    h_star = bump.critical_height("adam", 0.3, 20)
    below, above = bump.run_optimizer("adam", 0.3, 20, h_star - 1e-3), bump.run_optimizer("adam", 0.3, 20, h_star + 1e-3)
    assert below.escaped and below.xs[-1] > bump.bump_top(below.h)  # it ends in the global minimum's basin
    assert not above.escaped and above.max_x == pytest.approx(1 + h_star, abs=1e-6)


def test_adam_critical_height_is_max_x_minus_one_at_other_settings():
    for lr, steps in [(0.2, 20), (0.5, 15)]:
        tall = bump.run_optimizer("adam", lr, steps, lr * steps)
        assert not tall.escaped
        assert bump.critical_height("adam", lr, steps, tol=1e-7) == pytest.approx(tall.max_x - 1, abs=1e-6)


def test_adam_landing_exactly_on_the_kink_with_eps_0():
    """The edge case the lesson leaves out: with betas 0.5/0 and eps = 0, m_hat is exactly -1 and four
    steps of exactly lr = 0.25 end on x = 1, where autograd's gradient of |x - 1| is 0. Then v = 0 and
    Adam divides m_hat by 0: an infinite step (PyTorch's Adam does the same). The lesson's --eps takes
    [1e-12, 1]: the steps are then lr / (1 + eps), and pass x = 1 without landing on it."""
    with np.errstate(divide="ignore"):
        run = bump.run_optimizer("adam", 0.25, 5, 6.0, betas=(0.5, 0.0), eps=0.0)
    assert run.xs[:5] == [0.0, 0.25, 0.5, 0.75, 1.0] and run.grads[4] == 0.0 and run.xs[5] == math.inf
    for eps in (1e-12, 1e-8):
        run = bump.run_optimizer("adam", 0.25, 20, 6.0, betas=(0.5, 0.0), eps=eps)
        assert 1.0 not in run.xs and run.xs[4] < 1.0 < run.xs[5] and not run.escaped


def test_the_assignments_loop_parts_from_adam_only_where_v_hat_leaves_1():
    """sqrt(v_hat) = 1 while every |g| = 1, so the product equals the quotient; on x = 1 exactly the
    gradient is 0, v_hat drops below 1, and the two part (betas 0.5/0.5, lr 0.25, eps 0: both land on
    x = 1 at step 4)."""
    xs, v_hats = bump.assignment_adam(0.3, 20)
    adam = bump.run_optimizer("adam", 0.3, 20, 6.0)
    assert max(abs(v - 1) for v in v_hats) < 1e-12
    np.testing.assert_allclose(xs, adam.xs, rtol=1e-7)
    xs, v_hats = bump.assignment_adam(0.25, 8, 0.5, 0.5)
    adam = bump.run_optimizer("adam", 0.25, 8, 6.0, betas=(0.5, 0.5), eps=0.0)
    assert xs[4] == adam.xs[4] == 1.0 and adam.grads[4] == 0.0
    assert v_hats[4] == pytest.approx(0.5 * (1 - 0.5**4) / (1 - 0.5**5))  # v_hat of step 5, with g = 0
    assert abs(xs[5] - adam.xs[5]) > 0.05  # times sqrt(0.48) against divided by it


# ---------------------------------------------------------------------------------------------------
# Bisection and the vectorised sweep
# ---------------------------------------------------------------------------------------------------


def test_gradient_descent_critical_height_is_the_sawtooth():
    for lr in [0.07, 0.3, 0.45, 0.8]:
        expected = math.ceil(1 / lr) * lr - 1
        assert bump.critical_height("gd", lr, 20, tol=1e-7) == pytest.approx(expected, abs=1e-6)


def test_an_optimizer_that_never_reaches_the_bump_escapes_nothing():
    assert bump.critical_height("gd", 0.01, 20) == 0.0  # 20 steps of 0.01 end at x = 0.2


@pytest.mark.parametrize("name", bump.OPTIMIZERS)
def test_batched_runs_and_bisection_match_the_one_at_a_time_ones(name):
    lrs = np.array([0.07, 0.3, 0.77])
    h = np.array([0.1, 0.5, 0.3])
    xs = bump.run_batched(name, lrs, 20, h)
    for i, lr in enumerate(lrs):
        np.testing.assert_array_equal(xs[:, i], bump.run_optimizer(name, lr, 20, h[i]).xs)
    batched = bump.critical_heights(name, lrs, 20, tol=1e-6)
    single = [bump.critical_height(name, lr, 20, tol=1e-6) for lr in lrs]
    assert batched == pytest.approx(single, abs=2e-6)


@pytest.mark.parametrize("name, hyper", [
    ("gd", {}), ("momentum", {}), ("adam", {}), ("adam", {"eps": 0.0}), ("adam", {"betas": (0.9, 0.0), "eps": 0.0}),
])
def test_batched_runs_equal_single_runs_bit_for_bit_also_on_the_kinks(name, hyper):
    """Learning rates whose steps land exactly on x = 1 (gradient 0) or near it: 0.1, 0.25, 0.5, 1/3."""
    lrs = np.array([0.05, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.77, 1.0, 1.5])
    for h in (0.0, 0.3, 5.0):
        with np.errstate(divide="ignore"):  # eps = 0, beta2 = 0: a run that lands on x = 1 divides by 0
            xs = bump.run_batched(name, lrs, 30, h, **hyper)
            for i, lr in enumerate(lrs):
                np.testing.assert_array_equal(xs[:, i], bump.run_optimizer(name, float(lr), 30, h, **hyper).xs)


def test_sweep_and_single_bisection_agree_where_gradient_descent_lands_on_the_kink():
    # lr = 0.1: the single run ends 0.9999999999999999 -> 1.0999999999999999 and escapes bumps below
    # 0.1; the sweep used to step x = 0.1 * u, landed on 1.0 exactly (gradient 0) and reported 0
    single = bump.critical_height("gd", 0.1, 30)
    assert single == pytest.approx(0.1, abs=1e-6)
    assert bump.critical_heights("gd", [0.1, 0.25], 30) == pytest.approx([single, 0.0], abs=1e-6)


def test_bisection_ends_when_h_star_is_beyond_the_tolerance_of_float_spacing():
    # above ~1e10 neighbouring floats are more than tol = 1e-6 apart: halving the bracket used to
    # loop forever once lo and hi were neighbours
    h_star = bump.critical_height("gd", 1e11, 20)  # one step to x = 1e11
    assert h_star == pytest.approx(1e11 - 1, rel=1e-15)
    heights = bump.critical_heights("gd", [1.0, 1e6, 1e12], 20)
    assert heights == pytest.approx([0.0, 1e6 - 1, 1e12 - 1], rel=1e-15, abs=1e-6)


def test_phase_sweep_on_a_tiny_grid_writes_pngs(q1_phase, tmp_path, capsys):
    out, loss_plot, table = tmp_path / "phase.png", tmp_path / "loss.png", tmp_path / "phase.csv"
    result = q1_phase.main(["--num-lr", "6", "--tol", "1e-3", "--out", str(out), "--loss-plot", str(loss_plot),
                            "--csv", str(table)])
    for path in (out, loss_plot):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert table.read_text().splitlines()[0] == "lr,gd,momentum,adam"
    assert set(result["heights"]) == set(bump.OPTIMIZERS)
    assert all(h.shape == (6,) and (h >= 0).all() for h in result["heights"].values())
    assert result["marked"]["adam"] == pytest.approx(0.4102, abs=1e-3)
    assert result["gd_formula_gap"] < 1e-3
    assert "saved" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script, argv, says", [
    ("q1a_gd", ["--lr", "0"], r"in \(0, 10\]"), ("q1a_gd", ["--steps", "0"], "from 1 to 1,000"),
    ("q1a_gd", ["--h", "-1"], r"in \(0, 100\]"), ("q1a_gd", ["--h", "0"], r"in \(0, 100\]"),
    ("q1a_gd", ["--h", "1e308"], r"--h: must be in \(0, 100\], got 1e308"), ("q1a_gd", ["--h", "nan"], "100"),
    ("q1a_gd", ["--lr", "inf"], "10"), ("q1a_gd", ["--steps", "100000"], "1,000"),
    ("q1b_adam", ["--beta2", "1"], r"\[0, 1\)"), ("q1b_adam", ["--lr", "abc"], "expected a number"),
    ("q1b_adam", ["--lr", "1e10"], r"in \(0, 10\]"), ("q1b_adam", ["--eps", "0"], r"in \[1e-12, 1\]"),
    ("q1b_adam", ["--tol", "0.5"], r"in \(0, 0.001\]"),
    ("q1_phase", ["--out", "{tmp}/x.jpg"], "expected a .png"),
    ("q1_phase", ["--lr-min", "2", "--lr-max", "1", "--out", "{tmp}/p.png"], "must be below --lr-max"),
    ("q1_phase", ["--optimizers", "gd,sgdx", "--out", "{tmp}/p.png"], "comma-separated list"),
    ("q1_phase", ["--num-lr", "1000000", "--out", "{tmp}/p.png"], "10,000"),
    ("q1_phase", ["--loss-h", "1000", "--out", "{tmp}/p.png"], r"in \(0, 100\]"),
])
def test_bad_options_give_a_one_line_error_before_any_work(script, argv, says, tmp_path, capsys):
    module = load_example(script)
    with pytest.raises(SystemExit) as exit_info:
        module.main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{script}.py: error:") and re.search(says, errors[0])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script", ["q1a_gd", "q1b_adam", "q1_phase"])
def test_help_lists_options_with_defaults(script, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example(script).main(["--help"])
    assert exit_info.value.code == 0
    assert "(default:" in capsys.readouterr().out


def test_script_runs_from_the_repository_root():
    completed = subprocess.run([sys.executable, "examples/q1a_gd.py"], check=False, cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "stuck oscillating" in completed.stdout


# ---------------------------------------------------------------------------------------------------
# The docs: every output pasted in docs/optimizers.md is what its command prints now
# ---------------------------------------------------------------------------------------------------

COMMAND_THEN_OUTPUT = re.compile(r"```bash\n(python examples/q1\S*\.py[^\n]*)\n```\s*```text\n(.*?)\n```", re.DOTALL)


def test_doc_outputs_match_the_commands(tmp_path, capsys):
    pairs = COMMAND_THEN_OUTPUT.findall((ROOT / "docs" / "optimizers.md").read_text())
    assert {command.split()[1] for command, _ in pairs} == {
        "examples/q1a_gd.py", "examples/q1b_adam.py", "examples/q1_phase.py"}
    for command, expected in pairs:
        words = command.split()
        script = Path(words[1]).stem
        # write the plots under tmp_path instead of over docs/images, then print the doc's paths
        renamed = {word: str(tmp_path / Path(word).name) for word in words[2:] if word.endswith(".png")}
        load_example(script).main([renamed.get(word, word) for word in words[2:]])
        printed = capsys.readouterr().out
        for doc_path, tmp_file in renamed.items():
            printed = printed.replace(tmp_file, doc_path)
        assert printed.rstrip("\n") == expected, f"docs/optimizers.md is stale for: {command}"


def test_doc_images_exist():
    for name in ("q1_loss.png", "q1_phase.png"):
        assert (ROOT / "docs" / "images" / name).read_bytes()[:4] == b"\x89PNG"
