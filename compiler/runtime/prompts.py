"""Prompt templates at run time: ``snap.prompt(name).render(**variables)``.

Rendering happens in Jinja2's immutable sandbox with undefined variables as errors. Before
rendering, the given variables are checked against the declarations: a missing required
variable, an unknown one or one of the wrong type is a :class:`PromptVariableError` naming
it; an attribute access the sandbox forbids is a :class:`PromptSecurityError`. Jinja2 is
imported only when a template is first rendered, so ``import compiler.runtime`` stays cheap.

>>> p = Prompt.from_block("greet", {"template": "Hello {{ name }}!", "variables":
...                                  {"name": {"type": "string", "required": True}}})
>>> p.render(name="Ada")
'Hello Ada!'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

from ..errors import UsageError

#: Declared type → the check a value must pass (bool is not an integer or number here).
TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, Mapping),
    "any": lambda v: True,
}


class PromptError(Exception):
    """A prompt could not be rendered; the message names the prompt and what to do."""


class PromptVariableError(PromptError, TypeError):
    """A variable is missing, unknown or of the wrong type."""


class PromptSecurityError(PromptError):
    """The template tried something the sandbox forbids (``''.__class__`` and friends)."""


@dataclass(frozen=True)
class Variable:
    name: str
    type: str = "any"
    required: bool = True
    description: str | None = None


@dataclass(frozen=True)
class Demo:
    input: Mapping[str, Any]
    output: Any


@dataclass(frozen=True)
class Prompt:
    """One signature's compiled instruction: template source, variables and demos."""

    signature: str
    template: str
    variables: tuple[Variable, ...] = ()
    demos: tuple[Demo, ...] = ()
    template_file: str | None = None
    description: str | None = None

    @classmethod
    def from_block(cls, signature: str, block: Mapping[str, Any]) -> "Prompt":
        """Build from a snapshot's ``prompts.<signature>`` entry."""
        variables = tuple(Variable(name, spec.get("type", "any"), spec.get("required", True),
                                   spec.get("description"))
                          for name, spec in block.get("variables", {}).items())
        demos = tuple(Demo(d.get("input", {}), d.get("output")) for d in block.get("demos", ()))
        return cls(signature, block["template"], variables, demos, block.get("template_file"),
                   block.get("description"))

    def check_variables(self, values: Mapping[str, Any]) -> None:
        """Raise PromptVariableError unless ``values`` match the declarations."""
        declared = {v.name: v for v in self.variables}
        for name in values:
            if name not in declared:
                close = difflib.get_close_matches(name, declared, n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise PromptVariableError(f"prompt `{self.signature}` has no variable `{name}`{hint} "
                                          f"(declared: {', '.join(sorted(declared)) or 'none'})")
        for var in self.variables:
            if var.name not in values:
                if var.required:
                    raise PromptVariableError(f"prompt `{self.signature}` needs variable `{var.name}` "
                                              f"({var.type}), which was not given")
            elif not TYPE_CHECKS.get(var.type, TYPE_CHECKS["any"])(values[var.name]):
                raise PromptVariableError(f"prompt `{self.signature}`: variable `{var.name}` must be "
                                          f"{var.type}, got {type(values[var.name]).__name__}")

    def render(self, **values: Any) -> str:
        """The instruction text for ``values``, rendered in the sandbox."""
        self.check_variables(values)
        return _render(self, self._compiled, values)

    @cached_property
    def _compiled(self):
        # Two threads racing here both compile the same template; either result is correct.
        env = _environment()
        code = env.compile(self.template, name=self.signature, filename=self.origin)
        return env.template_class.from_code(env, code, env.make_globals(None), None)

    @property
    def origin(self) -> str:
        """The name a render error is reported under: the template file, or the prompt's key."""
        return self.template_file or f"<polc:prompts.{self.signature}>"


_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        from jinja2 import StrictUndefined
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        # Immutable: a template cannot mutate the lists and dicts it is given either.
        _ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                             keep_trailing_newline=True)
    return _ENV


def _render(prompt: Prompt, template, values: Mapping[str, Any]) -> str:
    try:
        return template.render(**values)
    except Exception as exc:  # sorted out below, where jinja2's exception classes are at hand
        _raise_clear(prompt, exc)


def _raise_clear(prompt: Prompt, exc: Exception):
    """Re-raise a render failure as the PromptError that says what happened and where."""
    from jinja2 import TemplateError, UndefinedError
    from jinja2.sandbox import SecurityError

    where = f"prompt `{prompt.signature}` ({_where(prompt, exc)})"
    if isinstance(exc, SecurityError):
        raise PromptSecurityError(f"{where}: the sandbox refused an unsafe operation: {exc}") from exc
    if isinstance(exc, UndefinedError):
        raise PromptVariableError(f"{where}: {exc}; give the variable, or guard it with "
                                  "`{% if name is defined %}`") from exc
    if isinstance(exc, (TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
                        RecursionError)):
        raise PromptError(f"{where}: rendering failed: {type(exc).__name__}: {exc}") from exc
    raise exc  # not a template error (MemoryError, ...): as it is


def _where(prompt: Prompt, exc: BaseException) -> str:
    """``file:line`` of the template line that failed (Jinja maps its frames back to the template)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == prompt.origin:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{prompt.origin}:{line}" if line else prompt.origin


class UnknownPrompt(UsageError, PromptError, LookupError):
    """The policy has no prompt for the signature asked for."""


def prompt_for(block: Mapping[str, Mapping[str, Any]], signature: str) -> Prompt:
    """The compiled prompt of ``signature`` from a snapshot's ``prompts`` block."""
    entry = block.get(signature)
    if entry is None:
        from ..diagnostics import Diagnostic, did_you_mean

        message = f"unknown prompt `{signature}`"
        hint = did_you_mean(signature, block) or "the policy defines no prompts"
        raise UnknownPrompt(f"{message}; {hint}", [Diagnostic.error("POLC541", message, hint=hint)])
    return Prompt.from_block(signature, entry)
