"""Comment templates: client-written text rendered in Jinja2's sandbox, never run as code.

Templates are checked when the file is loaded: a syntax error or an unknown variable is reported
at the comment's line. Rendering is pure: everything a template may read is passed in.

Both steps are cached, bounded: a template checked once is not parsed again for the same
variables and environment, and its Jinja2 code is generated once, at its first render (or
when checking it needs the code), however many comments it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from delegator.core.suggest import did_you_mean

TEMPLATE_VARIABLES = ("task", "rule", "assignee", "client", "owner", "now")

MAX_REPEAT = 100_000  # the longest string or list a template may build with *
MAX_EXPONENT = 64
MAX_POWER_BITS = 4096  # and the largest power, in bits


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, with * and ** bounded: ``{{ 'x' * 10**10 }}`` must not exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and isinstance(left, int | float):
            size = int(abs(left)).bit_length() * abs(right)
            if abs(right) > MAX_EXPONENT or size > MAX_POWER_BITS:
                raise SecurityError(f"a power with exponent {right} is too large for a template")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_REPEAT
                ):
                    raise SecurityError(
                        f"a repeated text or list would be longer than {MAX_REPEAT}"
                    )
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(
    undefined=ChainableUndefined,  # a missing attribute renders empty rather than failing a cycle
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
)


class TemplateError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def sandbox(
    *, autoescape: bool = False, finalize: Callable[[Any], Any] | None = None
) -> SandboxedEnvironment:
    """The same sandbox with escaping for a markup: HTML (autoescape) or Markdown (finalize)."""
    return _ENV.overlay(autoescape=autoescape, finalize=finalize)


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    environment: SandboxedEnvironment = field(default=_ENV, compare=False, repr=False)

    def render(self, context: Mapping[str, Any]) -> str:
        return _loaded(self.source, self.environment).render(**context).strip()


CACHED_TEMPLATES = 512  # distinct templates kept checked, and compiled, per process


@lru_cache(maxsize=CACHED_TEMPLATES)
def _loaded(source: str, environment: SandboxedEnvironment) -> jinja2.Template:
    """The template's Jinja2 code: parsed and generated once per text and environment."""
    return environment.from_string(source)


# Nodes of a template that only prints text and variables' attributes: compiling it cannot fail,
# so checking it needs no code generation (the bulk of the time of checking a large rule file).
_PLAIN_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
)


def _plain(tree: nodes.Template) -> bool:
    return all(isinstance(node, _PLAIN_NODES) for node in tree.find_all(nodes.Node))


def compile_template(
    source: str,
    variables: Collection[str] = TEMPLATE_VARIABLES,
    *,
    environment: SandboxedEnvironment = _ENV,
) -> Template:
    """Check a template; raise TemplateError with the template line that is wrong.

    A template that passed is remembered (by its text, the variables in their order and the
    environment): checking it again costs a lookup. One that failed is checked again each time.
    """
    return _checked(source, tuple(variables), environment)


@lru_cache(maxsize=CACHED_TEMPLATES)
def _checked(
    source: str, variables: tuple[str, ...], environment: SandboxedEnvironment
) -> Template:
    try:
        tree: nodes.Template = environment.parse(source)
        if not _plain(tree):
            _loaded(source, environment)  # finds unknown filters and tests; render reuses it
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}", exc.lineno or 1) from None
    loaded = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    if loaded <= set(variables):
        return Template(source, environment)  # nothing it reads can be undeclared
    unknown = sorted(meta.find_undeclared_variables(tree) - set(variables))
    if unknown:
        name = unknown[0]
        line = next(
            (n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"), 1
        )
        raise TemplateError(
            f"template uses unknown variable '{name}'{did_you_mean(name, variables)} "
            f"(available: {', '.join(variables)})",
            line,
        )
    return Template(source, environment)
