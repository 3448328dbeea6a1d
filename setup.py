"""Build hook: the bundled model's home is checkpoints/ at the top of the repository; a
wheel also carries a copy as package data (animatecli/checkpoints/), so an installed
`animate` has its default model. Everything else is declared in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithModel(build_py):
    """build_py that also copies checkpoints/*.pt into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads checkpoints/ in place
        target = Path(self.build_lib) / "animatecli" / "checkpoints"
        self.mkpath(str(target))
        for model in sorted((ROOT / "checkpoints").glob("*.pt")):
            self.copy_file(str(model), str(target / model.name))


setup(cmdclass={"build_py": BuildPyWithModel})
