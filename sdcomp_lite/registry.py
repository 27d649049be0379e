"""Registries as data: a name maps to a factory and a one-line description.

CompressAI's zoo keeps ``model_architectures = {"bmshj2018-factorized": FactorizedPrior, ...}`` and
checks a name once; every backend family here (grounders, rankers, content transforms, reference
codecs, tasks) does the same with one :class:`Registry`::

    GROUNDERS = Registry("grounder")
    GROUNDERS.add("saliency", "OpenCV saliency + GrabCut (no downloads)", SaliencyGrounder)
    GROUNDERS.get("saliency", threshold=0.4)     # calls the factory with the options
    GROUNDERS.available()                        # {"saliency": "OpenCV saliency + GrabCut ..."}

A name may also be a *family* with a prefix (``"compressai:<zoo name>"``): register ``"compressai:"``
with ``prefix=True`` and the factory receives the rest of the name as its first argument.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Generic, TypeVar

from sdcomp_lite.errors import UnknownBackendError

T = TypeVar("T")


def lazy(module: str, attribute: str) -> Callable[..., Any]:
    """A factory that imports ``module`` only when called, then calls its ``attribute`` with the options.

    Listing a registry's names therefore loads no model and imports no heavy package.
    """

    def factory(*args: Any, **options: Any) -> Any:
        return getattr(import_module(module), attribute)(*args, **options)

    return factory


def lazy_attributes(package: str, homes: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) that import each name of ``homes`` (name -> the
    module that defines it) when it is first used, so importing the package imports none of those modules::

        __getattr__, __dir__ = lazy_attributes(__name__, {"encode": "sdcomp_lite.coding.layered"})
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(homes[name]), name)
        namespace[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its factory, a one-line description, and whether it is a prefix family."""

    name: str
    description: str
    factory: Callable[..., T]
    prefix: bool = False


@dataclass
class Registry(Generic[T]):
    """Names to factories for one kind of backend (``kind`` names it in error messages)."""

    kind: str
    entries: dict[str, Entry[T]] = field(default_factory=dict)

    def add(self, name: str, description: str, factory: Callable[..., T], prefix: bool = False) -> None:
        """Register ``factory`` under ``name`` (a prefix such as ``"compressai:"`` when ``prefix``)."""
        if name in self.entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self.entries[name] = Entry(name, description, factory, prefix)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._entry(name) is not None

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order (prefix families end with their ``:``)."""
        return tuple(self.entries)

    def available(self) -> dict[str, str]:
        """Every registered name with its one-line description."""
        return {name: entry.description for name, entry in self.entries.items()}

    def get(self, name: str, **options: Any) -> T:
        """Build the backend called ``name``; ``options`` go to its factory.

        Raises :class:`~sdcomp_lite.errors.UnknownBackendError` naming the choices.
        """
        entry = self._entry(name)
        if entry is None:
            raise UnknownBackendError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        if entry.prefix:
            return entry.factory(name[len(entry.name):], **options)
        return entry.factory(**options)

    def _entry(self, name: str) -> Entry[T] | None:
        if not isinstance(name, str):
            return None
        if name in self.entries and not self.entries[name].prefix:
            return self.entries[name]
        for entry in self.entries.values():
            if entry.prefix and name.startswith(entry.name) and len(name) > len(entry.name):
                return entry
        return None
