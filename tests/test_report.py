"""The sweep report's tables and figure helpers on hand-made rows (no sweep, no models)."""

import csv
import math
from dataclasses import replace

import pytest

from sdcomp_lite.evaluation.report import (
    all_bd_rates,
    bd_rate_table,
    bd_rates,
    curves,
    family_colour,
    fronts_figure,
    rd_figure,
    undefined_summary,
    write_report,
    written_disagreements,
    zoom_limits,
)

TASK, METRIC = "person-segmentation", "miou"


def _row(codec, variant, quality, layers, bpp, value, task=TASK, metric=METRIC, image="astronaut"):
    return {"image": image, "codec": codec, "variant": variant, "quality": quality, "layers": layers,
            "bytes": int(bpp * 512 * 512 / 8), "bpp": bpp, "task": task, "reference": "pseudo", "metric": metric,
            "value": value}


def _rows():
    """An anchor (jpeg), a second anchor (avif) and sdcomp-lite with two prefixes, the first one poor."""
    rows = [_row("jpeg", "", q, 0, 0.1 * q, 0.90 + 0.02 * q) for q in (1, 2, 3, 4)]
    rows += [_row("avif", "", q, 0, 0.08 * q, 0.91 + 0.02 * q) for q in (1, 2, 3, 4)]
    for q in (1, 2, 3):
        rows += [_row("sdcomp-lite", "offline bq=2 bs=4", q, 1, 0.01 * q, 0.40 + 0.01 * q),
                 _row("sdcomp-lite", "offline bq=2 bs=4", q, 2, 0.06 * q, 0.91 + 0.025 * q)]
    return rows


def test_zoom_is_on_the_anchors_scores_and_saturated_anchors_show_everything():
    fronts = curves(_rows(), TASK, METRIC, "astronaut")
    (x_low, x_high), (y_low, y_high) = zoom_limits(fronts)
    assert 0.88 < y_low < 0.92 and 0.98 <= y_high < 1.01  # the poor first prefix (0.41) is below the frame
    assert x_low < 0.06 and x_high > 0.18
    saturated = {"jpeg": [(0.1, 1.0)], "sdcomp-lite (offline)": [(0.01, 0.0), (0.02, 1.0)]}
    assert zoom_limits(saturated)[1][0] < 0.0


def test_every_family_has_one_colour_in_every_figure():
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS
    from sdcomp_lite.ranking.registry import RANKERS

    families = [*REFERENCE_CODECS.names(), *(f"sdcomp-lite ({ranker})" for ranker in RANKERS.names())]
    colours = [family_colour(name) for name in families]
    assert len(set(colours)) == len(colours), "every anchor and every ranker's family has its own colour"
    assert family_colour("sdcomp-lite (offline)") == "#000000" and family_colour("jpeg") == family_colour("jpeg")


def test_curve_families_never_take_an_object_colour():
    """Anchors took the object palette (jpeg drew in object 1's red): families use the codec palette."""
    import numpy as np
    from matplotlib.colors import to_rgb

    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS
    from sdcomp_lite.plotting import BACKGROUND_COLOUR, CODEC_PALETTE, PALETTE, PREVIEW_COLOUR, REFERENCE_COLOUR
    from sdcomp_lite.ranking.registry import RANKERS

    taken = np.vstack([PALETTE / 255, [BACKGROUND_COLOUR, PREVIEW_COLOUR, REFERENCE_COLOUR]])
    families = [*REFERENCE_CODECS.names(), *(f"sdcomp-lite ({ranker})" for ranker in RANKERS.names()), "no-such-codec"]
    for colour in [*CODEC_PALETTE, *map(family_colour, families)]:
        assert np.sqrt(((taken - np.array(to_rgb(colour))) ** 2).sum(axis=1)).min() * 255 >= 50, colour
    assert {family_colour(name) for name in families} - {"#000000"} <= set(CODEC_PALETTE)


def test_rd_figure_is_zoomed_names_every_anchor_and_says_what_it_cut_off():
    figure = rd_figure(_rows(), TASK)
    (ax,) = [a for a in figure.axes if a.get_visible()]
    assert ax.get_ylim()[0] > 0.85 and ax.get_xscale() == "log"
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels == ["sdcomp-lite (offline)", "anchor: jpeg", "anchor: avif"]
    assert any("below the frame: down to 0.41" in t.get_text() for t in ax.texts)
    two = rd_figure(_rows() + [dict(r, image="chelsea") for r in _rows()], TASK)
    assert sum(a.get_visible() for a in two.axes) == 2 and two.get_size_inches()[0] >= 12


def test_fronts_figure_shows_points_fits_both_fronts_and_the_bd_rate_interval():
    figure = fronts_figure(_rows(), TASK, "astronaut", anchor="jpeg")
    full, zoomed = figure.axes[:2]
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    for expected in ("every point", "one setting's monotone fit", "sdcomp-lite (offline): raw Pareto front",
                     "sdcomp-lite (offline): smoothed front", "anchor: jpeg, smoothed front", "anchor: jpeg, raw Pareto front",
                     "score interval of the smoothed BD-rate against jpeg"):
        assert expected in labels
    assert full.get_ylim()[0] < 0.41 < zoomed.get_ylim()[0]


def test_float_noise_does_not_make_a_saturated_score_rise():
    rows = [_row("jpeg", "", q, 0, 0.1 * q, 0.9999999999999999 if q % 2 else 1.0, "face-detection", "ap50")
            for q in (1, 2, 3, 4)]
    rows += [_row("sdcomp-lite", "offline", q, 2, 0.01 * q, [0.0, 1.0, 1.0][q - 1], "face-detection", "ap50")
             for q in (1, 2, 3)]
    for front in ("smoothed", "raw"):
        (rate,) = bd_rates(rows, front=front)
        assert math.isnan(rate.value) and rate.note.startswith("saturated: the anchor's ap50 is 1")
    assert curves(rows, "face-detection", "ap50", "astronaut")["jpeg"] == [(pytest.approx(0.1), 1.0)]


def test_tables_summary_and_csv_come_from_one_computation(tmp_path):
    rows = _rows()
    rates = all_bd_rates(rows)
    assert [r.front for r in rates] == ["smoothed", "smoothed", "raw", "raw"]
    assert not any(math.isnan(r.value) for r in rates)
    assert all(r.interval[0] < r.interval[1] for r in rates)
    table = bd_rate_table(rates, TASK)
    assert table.splitlines()[2] == "| anchor | sdcomp-lite (offline): smoothed | sdcomp-lite (offline): raw |"
    assert table.splitlines()[4].startswith("| jpeg | ") and table.splitlines()[5].startswith("| avif | ")
    assert undefined_summary(rates) == "All 4 BD-rates are defined."
    with open(tmp_path / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = write_report(tmp_path)
    assert table in text and (tmp_path / f"rd_{TASK}.png").is_file()
    with open(tmp_path / "bd_rates.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [float(r["bd_rate_percent"]) for r in written] == pytest.approx([r.value for r in rates])
    assert float(written[0]["score_low"]) == pytest.approx(rates[0].interval[0])
    assert written_disagreements(tmp_path, rates) == []
    changed = [replace(rates[0], value=rates[0].value + 1)] + rates[1:]
    assert written_disagreements(tmp_path, changed) == [("astronaut", TASK, "sdcomp-lite (offline)", "jpeg", "smoothed")]
    assert written_disagreements(tmp_path / "nowhere", rates) is None


def test_the_codec_name_has_one_home():
    """Issue 19 item 3: results rows name sdcomp-lite through results.OURS; no evaluation module spells it again."""
    from pathlib import Path

    import sdcomp_lite.evaluation as evaluation

    spelled = [path.name for path in Path(evaluation.__file__).parent.glob("*.py")
               if path.name != "results.py" and '"sdcomp-lite"' in path.read_text(encoding="utf-8")]
    assert spelled == []
