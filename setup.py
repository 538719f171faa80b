"""Package discovery for the one ``subnetsim`` import namespace.

The repository keeps the product card's folders (``subnet/``, ``miners/``, ``validators/``,
``governance/``, ``tui/``) and the shipped ``scenarios/``; they install beneath ``subnetsim``
(``subnetsim.subnet`` from ``subnet/``, ...) so that nothing we install can shadow another
distribution (``validators``, ``subnet``, ``tui`` and ``governance`` are all PyPI names).
setuptools has no declarative way to discover packages under a prefix, so this file finds them;
everything else is in ``pyproject.toml``.
"""

from setuptools import find_namespace_packages, setup

NAMESPACE = "subnetsim"
CARD_FOLDERS = ("subnet", "miners", "validators", "governance", "tui", "scenarios")


def _found(include: list[str]) -> list[str]:
    return find_namespace_packages(include=include, exclude=["*.__pycache__"])


packages = _found([NAMESPACE, f"{NAMESPACE}.*"])
package_dir = {NAMESPACE: NAMESPACE}
for folder in CARD_FOLDERS:
    found = _found([folder, f"{folder}.*"])
    packages += [f"{NAMESPACE}.{name}" for name in found]
    package_dir[f"{NAMESPACE}.{folder}"] = folder

setup(packages=sorted(packages), package_dir=package_dir)
