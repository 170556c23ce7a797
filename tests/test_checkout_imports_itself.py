"""A clone imports itself: with the library installed (editable) from one checkout, code run from another clone
uses that clone's ``gan_modules/``, ``datamodules/``, ``callbacks/`` and ``configs/``, not the installed ones."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lightning_gans", "gan_modules", "datamodules", "callbacks", "configs")
PROBE = ("import lightning_gans, lightning_gans.gan_modules as g, lightning_gans.gan_modules.training.base as b, "
         "lightning_gans.callbacks as c, lightning_gans.datamodules as d, lightning_gans.configs as k; "
         "print(g.EDITED_IN_THE_CLONE); [print(m.__file__) for m in (lightning_gans, g, b, c, d, k)]")


def test_code_run_from_another_clone_imports_that_clones_folders(tmp_path):
    clone = tmp_path / "clone"
    for name in PACKAGES:
        shutil.copytree(ROOT / name, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
    with open(clone / "gan_modules" / "__init__.py", "a") as init:
        init.write("\nEDITED_IN_THE_CLONE = True\n")  # an edit the installed checkout does not have
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=clone, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # was: no attribute EDITED_IN_THE_CLONE (the installed copy)
    edited, *files = done.stdout.split()
    assert edited == "True" and all(Path(file).is_relative_to(clone) for file in files), files
