"""Comment templates: client-written text rendered in Jinja2's sandbox, never run as code.

Templates are checked when the file is loaded: a syntax error or an unknown variable is reported
at the comment's line. Rendering is pure: everything a template may read is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from delegator.core.suggest import did_you_mean

TEMPLATE_VARIABLES = ("task", "rule", "assignee", "client", "owner", "now")

_ENV = SandboxedEnvironment(
    undefined=ChainableUndefined,  # a missing attribute renders empty rather than failing a cycle
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
)


class TemplateError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Template:
    source: str

    def render(self, context: Mapping[str, Any]) -> str:
        return _ENV.from_string(self.source).render(**context).strip()


def compile_template(source: str) -> Template:
    """Check a template; raise TemplateError with the template line that is wrong."""
    try:
        tree: nodes.Template = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template error: {exc.message}", exc.lineno) from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(TEMPLATE_VARIABLES))
    if unknown:
        name = unknown[0]
        line = next(
            (n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"), 1
        )
        raise TemplateError(
            f"template uses unknown variable '{name}'{did_you_mean(name, TEMPLATE_VARIABLES)} "
            f"(available: {', '.join(TEMPLATE_VARIABLES)})",
            line,
        )
    return Template(source)
