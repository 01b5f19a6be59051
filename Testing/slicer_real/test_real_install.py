"""First-use install: the plan (build tools before a no-build-isolation pyradiomics) and its execution through Slicer's
real ``slicer.packaging`` (Slicer 5.10+, from ../shared/slicer-python). pip itself is recorded, not run: a real install
into a fresh Python is what `make test-slicer`'s own set-up does, in this order."""

from __future__ import annotations

import pytest


def test_a_python_without_wheel_gets_setuptools_and_wheel_before_pyradiomics(module):
    steps = module.CoronaryCalciumLogic.installSteps(["scipy", "pyradiomics", "numpy"], ["setuptools", "wheel"])
    assert steps == [("pip", "setuptools wheel"), ("pip", "numpy"), ("pip", "pyradiomics==3.0.1 --no-build-isolation"),
                     ("ensure", "scipy")]
    assert module.CoronaryCalciumLogic.installSteps(["pyradiomics"], []) == [
        ("pip", "pyradiomics==3.0.1 --no-build-isolation")]
    # the build tools are for pyradiomics only
    assert module.CoronaryCalciumLogic.installSteps(["scipy"], ["wheel"]) == [("ensure", "scipy")]
    assert [kind for kind, _what in module.CoronaryCalciumLogic.installSteps(
        ["TotalSegmentator", "torch", "numpy"], [])] == ["pip", "torch", "totalsegmentator"]


def test_missing_build_tools_are_found_in_this_python(module, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(module.importlib.util, "find_spec", lambda name: None if name == "wheel" else real(name))
    assert module.CoronaryCalciumLogic.missingBuildTools() == ["wheel"]


def test_slicers_pip_ensure_is_used_where_slicer_has_it(module, scene, monkeypatch):
    import slicer
    import slicer.packaging

    assert module.CoronaryCalciumLogic.slicerPackaging() is slicer.packaging
    calls = []
    monkeypatch.setattr(slicer.packaging, "pip_install", lambda args, **kwargs: calls.append(("pip_install", args)))
    monkeypatch.setattr(slicer.packaging, "pip_ensure",
                        lambda requirements, **kwargs: calls.append(("pip_ensure", list(requirements),
                                                                     kwargs["prompt_install"])))
    monkeypatch.setattr(slicer.util, "pip_install", lambda args: calls.append(("util", args)))
    monkeypatch.setattr(module.CoronaryCalciumLogic, "missingBuildTools", staticmethod(lambda: ["wheel"]))
    module.CoronaryCalciumLogic().installRequirements(["scikit-learn", "pyradiomics", "numpy", "joblib"],
                                                      log=lambda line: None)
    assert calls == [("pip_install", "wheel"), ("pip_install", "numpy"),
                     ("pip_install", "pyradiomics==3.0.1 --no-build-isolation"),
                     ("pip_ensure", ["scikit-learn", "joblib"], False)]


def test_older_slicer_without_packaging_falls_back_to_slicer_util(module, scene, monkeypatch):
    import builtins

    import slicer

    real_import = builtins.__import__

    def no_packaging(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "slicer.packaging" or (name == "slicer" and fromlist and "packaging" in fromlist):
            raise ImportError(name)
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.delitem(__import__("sys").modules, "slicer.packaging", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_packaging)
    assert module.CoronaryCalciumLogic.slicerPackaging() is None
    calls = []
    monkeypatch.setattr(slicer.util, "pip_install", lambda args: calls.append(args))
    monkeypatch.setattr(module.CoronaryCalciumLogic, "missingBuildTools", staticmethod(lambda: ["setuptools", "wheel"]))
    module.CoronaryCalciumLogic().installRequirements(["pyradiomics", "scipy"], log=lambda line: None)
    assert calls == ["setuptools wheel", "pyradiomics==3.0.1 --no-build-isolation", "scipy"]


def test_a_package_still_missing_after_install_asks_for_a_restart(module, scene, monkeypatch):
    import slicer.packaging

    monkeypatch.setattr(slicer.packaging, "pip_ensure", lambda requirements, **kwargs: None)
    with pytest.raises(module.DependencyError) as raised:
        module.CoronaryCalciumLogic().installRequirements(["surely-not-installed-package"], log=lambda line: None)
    assert raised.value.restartRequired
