import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from takdlib.plots import method_bars, save_figure


def seeds_frame():
    return pd.DataFrame({"method": ["NOKD", "NOKD", "TAKD", "TAKD"], "acc": [55.0, 56.0, 57.0, 58.0]})


def test_method_bars_shows_paper_numbers_far_above_ours():
    ax = method_bars(seeds_frame(), order=["NOKD", "TAKD"], paper={"NOKD": 70.16, "TAKD": 73.51})
    lo, hi = ax.get_ylim()
    assert lo <= 55.0 and hi > 73.51
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(line.get_ydata()[0] for line in dashed) == [70.16, 73.51]
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
