"""The figures, one function each; `save_figure` writes .png and .pdf with stable metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib import ticker
import numpy as np
import pandas as pd
import seaborn as sns

sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def save_figure(fig, path_stem: str | Path) -> list[Path]:
    """Write <stem>.png (150 dpi) and <stem>.pdf without timestamps, so reruns diff cleanly."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    fig.savefig(png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "ModDate": None, "Producer": None})
    return [png, pdf]


def accuracy_points(df: pd.DataFrame, x: str, y: str = "acc", hue: str | None = None, ax=None,
                    title: str = "", order=None, xlabel: str | None = None, lines: bool = True):
    """Mean ± sd over seeds as points, every seed as a faint dot (a swarm: placed without random jitter, so
    a re-run draws the same figure); `lines` joins the points (for an ordered x)."""
    ax = ax or plt.subplots(figsize=(5.5, 3.8))[1]
    sns.pointplot(data=df, x=x, y=y, hue=hue, order=order, errorbar="sd", capsize=0.1, dodge=0.3 if hue else False,
                  ax=ax, markers="o", linestyle="-" if lines else "none")
    grey = {"color": "0.3"} if hue is None else {}  # a palette without hue is deprecated in seaborn
    sns.swarmplot(data=df, x=x, y=y, hue=hue, order=order, dodge=bool(hue), alpha=0.35, ax=ax, legend=False,
                  size=4, **grey)
    ax.set(title=title, ylabel="test accuracy (%)", xlabel=xlabel or x)
    if hue is not None:  # below the axes, where it can cover no point or whisker
        sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.2), ncol=df[hue].nunique(), title=hue,
                        frameon=False, fontsize=8, title_fontsize=8)
    return ax


def method_bars(df: pd.DataFrame, x: str = "method", y: str = "acc", hue: str | None = None, order=None,
                title: str = "", ax=None, paper: dict | None = None):
    """Bars of mean ± sd, seeds as dots; the paper's numbers, when given, under the bars' labels ("paper
    70.2"), so the y-range spans our numbers and a 1-point difference stays visible."""
    ax = ax or plt.subplots(figsize=(5.5, 3.8))[1]
    sns.barplot(data=df, x=x, y=y, hue=hue, order=order, errorbar="sd", capsize=0.15, ax=ax, alpha=0.85)
    black = {"palette": "dark:black"} if hue else {"color": "black"}  # seaborn's way to draw every hue in black
    sns.swarmplot(data=df, x=x, y=y, hue=hue, order=order, dodge=bool(hue), size=3.5, ax=ax, **black,
                  legend=False)
    ax.set_ylim(max(0, df[y].min() - 5), df[y].max() + 2)
    ax.set(title=title, ylabel="test accuracy (%)", xlabel="")
    paper = {k: v for k, v in (paper or {}).items() if isinstance(v, (int, float))}  # numbers only, no labels
    if paper:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        ax.set_xticks(ax.get_xticks(), [f"{t}\npaper {paper[t]:.1f}" if t in paper else t for t in labels])
    return ax


def landscape_grids(grids: dict[str, np.ndarray], extent: float, title: str = "loss"):
    """Contours (top row) and 3-D surfaces (bottom row) of several 2-D loss grids on one colour scale."""
    names = list(grids)
    vmin = min(float(np.nanmin(g)) for g in grids.values())
    vmax = max(float(np.nanmax(g)) for g in grids.values())
    levels = ticker.MaxNLocator(nbins=14).tick_values(vmin, vmax)  # round numbers on the colour bar
    fig = plt.figure(figsize=(4.2 * len(names), 8))
    coords = None
    for k, name in enumerate(names):
        g = grids[name]
        coords = np.linspace(-extent, extent, g.shape[0])
        xx, yy = np.meshgrid(coords, coords, indexing="ij")
        ax = fig.add_subplot(2, len(names), k + 1)
        cs = ax.contourf(xx, yy, g, levels=levels, cmap="viridis")
        ax.contour(xx, yy, g, levels=levels, colors="white", linewidths=0.4)
        ax.plot(0, 0, "r*", ms=8)
        ax.set(title=name, xlabel="direction 1", ylabel="direction 2" if k == 0 else "", aspect="equal")
        ax3 = fig.add_subplot(2, len(names), len(names) + k + 1, projection="3d")
        ax3.plot_surface(xx, yy, g, cmap="viridis", vmin=vmin, vmax=vmax, linewidth=0, antialiased=True)
        ax3.set(zlim=(vmin, vmax), xlabel="d1", ylabel="d2", zlabel=title)
    # a colour bar axis of its own: stealing room from the equal-aspect panels would resize them unequally
    fig.subplots_adjust(right=0.88, wspace=0.3)
    fig.colorbar(cs, cax=fig.add_axes((0.91, 0.55, 0.015, 0.33)), label=title, ticks=ticker.MaxNLocator(nbins=6))
    return fig


def gap_figure(df: pd.DataFrame, order_by_family: dict[str, list[str]]):
    """Student accuracy (mean ± sd, left axis) and teacher accuracy (right axis) against the teacher,
    one panel per model family; the 'none' column is the student trained alone."""
    families = [f for f in order_by_family if f in set(df.family)]
    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 3.8), squeeze=False)
    for ax, fam in zip(axes[0], families):
        order = order_by_family[fam]
        sub = df[df.family == fam]
        sns.pointplot(data=sub[sub.role == "student"], x="teacher", y="acc", order=order, errorbar="sd",
                      capsize=0.1, ax=ax, color="C0", label="student")
        twin = ax.twinx()
        sns.pointplot(data=sub[sub.role == "teacher"], x="teacher", y="acc", order=order, errorbar="sd",
                      capsize=0.1, ax=twin, color="C1", linestyles="--", markers="s", label="teacher")
        ax.set(title=f"{fam}: student {sub[sub.role == 'student'].recipe.iloc[0].split(' ')[0]}",
               xlabel="teacher ('none': student trained alone)", ylabel="student test accuracy (%)")
        twin.set_ylabel("teacher test accuracy (%)", color="C1")
        twin.grid(False)
        if twin.get_legend() is not None:
            twin.get_legend().remove()
        lines = ax.get_legend_handles_labels(), twin.get_legend_handles_labels()
        ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def ta_size_figure(students: pd.DataFrame, summary: pd.DataFrame, midpoint: float):
    """Student accuracy against its TA's depth (left) and against its TA's accuracy (right), mean ± sd over
    seeds on both axes, with the teacher–student midpoint dashed. students: one row per student (ta_size,
    acc); summary: one row per TA (ta, ta_acc, ta_sd, acc, sd), accuracies in %."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.pointplot(data=students, x="ta_size", y="acc", errorbar="sd", capsize=0.1, ax=axes[0], native_scale=True)
    axes[0].set(xlabel="TA depth (10 = no TA, BLKD)", ylabel="student test accuracy (%)",
                title="student vs TA size")
    axes[1].errorbar(summary.ta_acc, summary.acc, xerr=summary.ta_sd.fillna(0), yerr=summary.sd.fillna(0),
                     fmt="o", capsize=3)
    for _, r in summary.iterrows():
        axes[1].annotate(r.ta, (r.ta_acc, r.acc), textcoords="offset points", xytext=(5, 5), fontsize=8)
    axes[1].axvline(midpoint, ls="--", color="gray", label="(teacher + plain2 on the TAs' images) / 2")
    axes[1].set(xlabel="TA test accuracy (%)", ylabel="student test accuracy (%)", title="student vs TA accuracy")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
