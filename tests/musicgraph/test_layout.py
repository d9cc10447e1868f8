"""The package list is written once: setup.cfg finds the packages, and every other place
that must name them (the Makefile, the Dockerfile's COPY lines, import-linter's root
packages) is checked against what it finds."""

from __future__ import annotations

import configparser
import re

from setuptools import find_namespace_packages, find_packages

from tests import support

ROOT = support.ROOT


def setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def installed_packages() -> set[str]:
    """The top-level packages ``pip install .`` installs (setup.cfg's find: and excludes)."""
    cfg = setup_cfg()
    exclude = [e.strip() for e in cfg["options.packages.find"]["exclude"].split("\n")
               if e.strip()]
    return {p for p in find_packages(where=str(ROOT), exclude=exclude) if "." not in p}


def test_every_code_folder_is_a_found_package() -> None:
    # A folder of Python code without __init__.py would silently be left out of the install.
    namespace = {p for p in find_namespace_packages(where=str(ROOT), include=["*"])
                 if "." not in p}
    code = {p for p in namespace if any((ROOT / p).glob("*.py"))}
    assert code - {"tests", "bench"} == installed_packages()
    assert {"musicgraph", "etl", "gnn", "app", "evaluation", "cypher"} == installed_packages()


def test_makefile_lists_the_found_packages() -> None:
    m = re.search(r"^PACKAGES := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "the Makefile has no PACKAGES variable"
    assert set(m.group(1).split()) == installed_packages()


def test_dockerfile_copies_the_found_packages() -> None:
    copies = re.findall(r"^COPY (\w+) \./(\w+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert all(src == dst for src, dst in copies)
    assert {src for src, _ in copies} == installed_packages()


def test_import_contract_covers_the_found_packages() -> None:
    cfg = setup_cfg()
    roots = {r.strip() for r in cfg["importlinter"]["root_packages"].split("\n") if r.strip()}
    assert roots == installed_packages()
    layers = " ".join(cfg["importlinter:contract:layers"]["layers"].split("\n"))
    assert set(re.findall(r"\w+", layers)) == installed_packages()


def test_each_stage_brings_its_commands() -> None:
    cfg = setup_cfg()
    commands = {line.split("=")[0].strip(): line.split("=")[1].strip()
                for line in cfg["options.entry_points"]["musicgraph.commands"].split("\n")
                if line.strip()}
    assert commands == {"etl": "etl.cli:etl", "train": "gnn.cli:train",
                        "embed": "gnn.cli:embed", "serve": "app.cli:serve",
                        "evaluate": "evaluation.cli:evaluate"}
