import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

import numpy as np

from takdlib.plots import accuracy_points, landscape_grids, method_bars, save_figure, ta_size_figure


def seeds_frame():
    return pd.DataFrame({"method": ["NOKD", "NOKD", "TAKD", "TAKD"], "acc": [55.0, 56.0, 57.0, 58.0]})


def test_method_bars_gives_the_paper_numbers_under_the_bars_and_keeps_our_range():
    ax = method_bars(seeds_frame(), order=["NOKD", "TAKD"], paper={"NOKD": 70.16, "TAKD": 73.51, "label": "T1"})
    lo, hi = ax.get_ylim()
    assert 50.0 <= lo <= 55.0 and 58.0 < hi < 61.0  # the paper's 70s do not flatten our 1-point differences
    assert [t.get_text() for t in ax.get_xticklabels()] == ["NOKD\npaper 70.2", "TAKD\npaper 73.5"]
    plt.close("all")


def test_method_bars_without_paper_fits_our_range():
    ax = method_bars(seeds_frame(), order=["NOKD", "TAKD"])
    lo, hi = ax.get_ylim()
    assert 50.0 <= lo <= 55.0 and 58.0 < hi < 61.0
    plt.close("all")


def test_save_figure_is_byte_stable(tmp_path):
    def draw(stem):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        paths = save_figure(fig, tmp_path / stem)
        plt.close(fig)
        return [p.read_bytes() for p in paths]

    assert draw("a") == draw("b")


def test_a_hue_legend_sits_below_the_axes_not_on_the_points():
    df = pd.DataFrame({"student": ["a", "a", "b", "b"] * 2, "acc": [50.0, 51, 52, 53, 54, 55, 56, 57],
                       "method": ["alone"] * 4 + ["KD"] * 4})
    fig, ax = plt.subplots()
    accuracy_points(df, x="student", hue="method", ax=ax)
    fig.canvas.draw()
    legend, axes_box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 <= axes_box.y0
    plt.close(fig)


def test_the_colour_bar_of_the_landscapes_has_round_ticks():
    grid = np.linspace(1.297, 8.603, 25).reshape(5, 5)
    fig = landscape_grids({"NOKD": grid, "TAKD": grid + 0.1}, extent=1.0)
    ticks = fig.axes[-1].get_yticks()
    assert len(ticks) >= 3 and all(abs(t * 10 - round(t * 10)) < 1e-9 for t in ticks), ticks  # not 1.297, 2.579
    plt.close(fig)


def test_the_ta_figure_has_error_bars_on_both_axes():
    students = pd.DataFrame({"ta_size": [4, 4, 10, 10], "acc": [54.0, 55.0, 53.0, 53.5]})
    summary = pd.DataFrame({"ta": ["plain4", "none"], "ta_acc": [63.8, np.nan], "ta_sd": [1.2, np.nan],
                            "acc": [54.5, 53.25], "sd": [0.7, 0.35]})
    fig = ta_size_figure(students, summary, midpoint=68.5)
    (bars,) = fig.axes[1].containers
    assert bars.has_xerr and bars.has_yerr
    plt.close(fig)
