"""Redraw the README's figures: docs/progressive.png and docs/pipeline.png.

    .venv/bin/python docs/make_figures.py
"""

from pathlib import Path

from sdcomp_lite.demo import write_readme_figures

if __name__ == "__main__":
    for path in write_readme_figures(Path(__file__).resolve().parent):
        print("wrote", path)
