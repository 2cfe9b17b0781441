"""environment.yml (Binder), pyproject.toml, requirements/lock.txt and the README agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the registry's
CONDA_TO_PIP = {"pytorch": "torch"}


def _pyproject() -> dict[str, Requirement]:
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in meta["dependencies"] + meta["optional-dependencies"]["dev"]]
    return {canonicalize_name(r.name): r for r in reqs}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _environment() -> tuple[dict, dict[str, str]]:
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for req in dep["pip"]:
                name, version = req.split("==")
                pins[canonicalize_name(name)] = version
        else:
            name, _, rest = dep.partition("=")
            pins[canonicalize_name(CONDA_TO_PIP.get(name, name))] = rest.split("=")[0]
    return env, pins


def test_environment_is_conda_forge_python_311_cpu_torch():
    env, pins = _environment()
    assert env["channels"][0] == "conda-forge"
    assert pins["python"] == "3.11"
    torch = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("pytorch="))
    assert torch.split("=")[2].startswith("cpu"), "Binder has no GPU: use the CPU build of PyTorch"


def test_environment_has_exactly_the_project_packages():
    _, pins = _environment()
    env_names = set(pins) - {"python", "pip"}
    assert env_names == set(_pyproject()), (
        f"only in environment.yml: {sorted(env_names - set(_pyproject()))}; "
        f"only in pyproject.toml: {sorted(set(_pyproject()) - env_names)}"
    )


def test_environment_pins_are_the_lock_file_versions():
    _, pins = _environment()
    lock = _lock()
    for name in set(pins) - {"python", "pip"}:
        assert pins[name] == lock[name], f"{name}: environment.yml {pins[name]} != lock.txt {lock[name]}"


def test_lock_file_satisfies_pyproject_bounds():
    lock = _lock()
    for name, req in _pyproject().items():
        assert name in lock, f"{name} is a dependency but not pinned in requirements/lock.txt"
        assert req.specifier.contains(lock[name], prereleases=True), f"{name}=={lock[name]} violates {req}"
    assert _pyproject()["torch"].specifier == Requirement("torch==2.13.0").specifier
    assert str(_pyproject()["jupyter-book"].specifier) in (">=1.0.4,<2", "<2,>=1.0.4")


def test_pyproject_requires_python_311():
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["requires-python"] == ">=3.11,<3.12"


def test_binder_installs_the_package_itself():
    post = (REPO_ROOT / "postBuild").read_text(encoding="utf-8")
    assert "pip install --no-deps -e ." in post
    assert (REPO_ROOT / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_readme_install_matches_the_makefile():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    make = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "make book" in readme and "make test" in readme and "Python 3.11" in readme
    # The README says the install uses pyproject.toml with lock.txt as constraints: so must make.
    assert "requirements/lock.txt" in readme and "pyproject.toml" in readme
    assert re.search(r"pip install .*-c requirements/lock\.txt .*-e \"?\.\[dev\]", make)
    assert re.search(r"^PYTHON \?= python3\.11$", make, re.M)


def test_readme_explains_every_library():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = {canonicalize_name(n) for line in readme.splitlines() if line.startswith("| ")
            for n in re.findall(r"[A-Za-z][\w.-]*", line.split("|")[1])}
    missing = set(_pyproject()) - rows
    assert not missing, f"README's library table does not explain: {sorted(missing)}"


@pytest.mark.parametrize("path", ["README.md", "book/intro.md"])
def test_data_licences_are_stated(path):
    text = (REPO_ROOT / path).read_text(encoding="utf-8")
    assert text.count("CC BY 4.0") >= 2 and "Reyes-Ortiz" in text and "Matey-Sanz" in text


def test_citation_file_prefers_the_paper():
    cff = yaml.safe_load((REPO_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT"
    pref = cff["preferred-citation"]
    assert pref["doi"] == "10.1109/TNNLS.2025.3640274"
    assert [a["family-names"] for a in pref["authors"]] == ["Hong", "Jeon", "Buman", "Turaga", "Pavlic"]
    assert {r["license"] for r in cff["references"]} == {"CC-BY-4.0"}


def test_licence_is_mit_and_excludes_the_data():
    text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "CC BY 4.0" in text
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"]["text"] == "MIT"


@pytest.mark.slow
def test_make_kernel_registers_an_environment_that_imports_the_package(tmp_path):
    """`make lab` registers the project's environment as a Jupyter kernel: that kernel's Python must
    import mglwkd_lite (checked on a kernel spec written to a temporary prefix)."""
    import json
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    python = REPO_ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("no .venv: the Makefile's environment is not set up")
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "kernel", f"KERNEL_PREFIX={tmp_path}"],
                   check=True, capture_output=True, text=True)
    spec = json.loads((tmp_path / "share" / "jupyter" / "kernels" / "mglwkd-lite" / "kernel.json").read_text())
    out = subprocess.run([spec["argv"][0], "-c", "import mglwkd_lite, sys; print(mglwkd_lite.__file__)"],
                         check=True, capture_output=True, text=True)
    assert Path(out.stdout.strip()).resolve().is_relative_to(REPO_ROOT), out.stdout
