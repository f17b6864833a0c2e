"""Prompt templates at run time: ``snap.prompt(name).render(**variables)``.

Rendering happens in Jinja2's immutable sandbox with undefined variables as errors. Before
rendering, the given variables are checked against the declarations: a missing required
variable, an unknown one or one of the wrong type is a :class:`PromptVariableError` naming
it; an attribute access the sandbox forbids is a :class:`PromptSecurityError`. Jinja2 is
imported only when a template is first rendered, so ``import compiler.runtime`` stays cheap.

Rendering is bounded (:class:`RenderLimits`): every loop iteration, call and intercepted
operator counts as an operation; the render stops at ``max_operations``, at ``max_seconds``,
or when the output or any value it builds would pass ``max_output_chars`` (repetition,
powers, padding widths and ``replace`` are checked before they allocate). Exceeding a limit
is a :class:`PromptBudgetError` naming the prompt and the template line, so a template like
``{% for i in range(100000) %}{% for j in range(100000) %}...`` ends in milliseconds.

>>> p = Prompt.from_block("greet", {"template": "Hello {{ name }}!", "variables":
...                                  {"name": {"type": "string", "required": True}}})
>>> p.render(name="Ada")
'Hello Ada!'
"""

from __future__ import annotations

import contextvars
import difflib
import re
import time
from dataclasses import dataclass, field, replace
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


class PromptBudgetError(PromptError):
    """Rendering passed a limit of :class:`RenderLimits` (operations, time or output size)."""


@dataclass(frozen=True)
class RenderLimits:
    """How much one render may do. The defaults are far above what an instruction template
    needs (a prompt is read by a model with a context window of at most a few million
    characters) and far below what makes a router wait."""

    max_operations: int = 1_000_000      # loop iterations + calls + intercepted operators
    max_seconds: float = 2.0             # wall-clock time of one render
    max_output_chars: int = 8_000_000    # the rendered text, and any string or list built on the way


DEFAULT_LIMITS = RenderLimits()


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
    limits: RenderLimits = field(default=DEFAULT_LIMITS, compare=False)

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
        """The instruction text for ``values``, rendered in the sandbox within ``self.limits``."""
        self.check_variables(values)
        return _render(self, values)

    def with_limits(self, **changes: Any) -> "Prompt":
        """This prompt with other render limits, e.g. ``prompt.with_limits(max_seconds=0.5)``."""
        return replace(self, limits=replace(self.limits, **changes))

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

        # Immutable: a template cannot mutate the lists and dicts it is given either.
        _ENV = _metered_environment_class()(undefined=StrictUndefined, autoescape=False,
                                            keep_trailing_newline=True)
    return _ENV


def _render(prompt: Prompt, values: Mapping[str, Any]) -> str:
    budget = _Budget(prompt.signature, prompt.limits)
    token = _BUDGET.set(budget)
    try:
        template = prompt._compiled  # compiled on first use: a template polc check never saw may not parse
        parts, size = [], 0
        for chunk in template.generate(**values):
            size += len(chunk)
            if size > prompt.limits.max_output_chars:
                budget.fail(f"its output passed {prompt.limits.max_output_chars:,} characters")
            parts.append(chunk)
        return "".join(parts)
    except _BudgetExceeded as exc:
        raise PromptBudgetError(f"prompt `{prompt.signature}` ({_where(prompt, exc)}): rendering stopped: "
                                f"{exc}; simplify the template or raise the limit with "
                                "prompt.with_limits(...)") from None
    except Exception as exc:  # sorted out below, where jinja2's exception classes are at hand
        _raise_clear(prompt, exc)
    finally:
        _BUDGET.reset(token)


# -- the render budget --------------------------------------------------------------------------

class _BudgetExceeded(Exception):
    """Raised inside the template's code; turned into PromptBudgetError with the template line."""


class _Budget:
    __slots__ = ("signature", "limits", "operations", "deadline")

    def __init__(self, signature: str, limits: RenderLimits):
        self.signature, self.limits, self.operations = signature, limits, 0
        self.deadline = time.monotonic() + limits.max_seconds

    def charge(self, n: int = 1) -> None:
        self.operations += n
        if self.operations > self.limits.max_operations:
            self.fail(f"it took more than {self.limits.max_operations:,} operations (loop iterations and calls)")
        if time.monotonic() > self.deadline:
            self.fail(f"it ran longer than {self.limits.max_seconds:g} s")

    def check_size(self, value: Any) -> Any:
        if isinstance(value, (str, list, tuple)) and len(value) > self.limits.max_output_chars:
            self.fail(f"it built a value of {len(value):,} items, above {self.limits.max_output_chars:,}")
        return value

    def allow_size(self, size: int, what: str) -> None:
        if size > self.limits.max_output_chars:
            self.fail(f"{what} would make {size:,} characters or items, above {self.limits.max_output_chars:,}")

    def fail(self, reason: str):
        raise _BudgetExceeded(reason)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("polc_prompt_budget", default=None)


def _budget() -> _Budget:
    """The current render's budget. Outside a render (Jinja folding constants while it compiles)
    a fresh default budget still refuses oversized values; Jinja then leaves the expression
    unfolded, so it is checked again, against the prompt's own limits, when it renders."""
    return _BUDGET.get() or _Budget("", DEFAULT_LIMITS)


#: Printf-style widths and str.format widths, which allocate their width before any check.
_PRINTF_WIDTH = re.compile(r"%[-#0 +]*(\d+)")
_FORMAT_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)[^{}]*\}")
#: str methods whose first integer argument is the length of the result.
_WIDTH_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


def _check_call(budget: _Budget, obj: Any, args: tuple, kwargs: dict) -> None:
    """Refuse a call that would allocate far more than its inputs before it runs."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if isinstance(owner, str):
        if name in _WIDTH_METHODS:
            widths = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
            budget.allow_size(max(widths, default=0) * (8 if name == "expandtabs" else 1), f"`.{name}()`")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            hits = owner.count(args[0]) if args[0] else len(owner) + 1
            budget.allow_size(len(owner) + hits * max(0, len(args[1]) - len(args[0])), "`.replace()`")
        elif name == "format":
            _check_format_widths(budget, owner)


def _check_format_widths(budget: _Budget, text: str) -> None:
    for pattern in (_PRINTF_WIDTH, _FORMAT_WIDTH):
        for match in pattern.finditer(text):
            budget.allow_size(int(match.group(1)), "a format width")


def _check_binop(budget: _Budget, operator: str, left: Any, right: Any) -> None:
    sized = (str, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int) and not isinstance(times, bool):
                budget.allow_size(len(seq) * max(times, 0), "a repetition")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        bits = max(abs(left).bit_length() - 1, 0) * right
        budget.allow_size(bits // 3, "a power")  # about a third of its bits are decimal digits
    elif operator == "%" and isinstance(left, str):
        _check_format_widths(budget, left)
    elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        budget.allow_size(len(left) + len(right), "a concatenation")


def _metered_filter(name: str, original):
    """``original`` filter with the budget's checks around it (filters are called directly, not
    through the sandbox's ``call``)."""
    from functools import wraps

    @wraps(original)
    def metered(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.charge()
        values = [a for a in args if not hasattr(a, "environment")]  # skip a passed context/env
        if name in ("center", "indent", "wordwrap") and values:
            widths = [a for a in (*values[1:], *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
            budget.allow_size(max(widths, default=0) * max(1, str(values[0]).count("\n") + 1), f"`|{name}`")
        elif name == "replace" and len(values) >= 3 and all(isinstance(v, str) for v in values[:3]):
            text, old, new = values[:3]
            hits = text.count(old) if old else len(text) + 1
            budget.allow_size(len(text) + hits * max(0, len(new) - len(old)), "`|replace`")
        elif name == "format" and values and isinstance(values[0], str):
            _check_format_widths(budget, values[0])
        return budget.check_size(original(*args, **kwargs))

    return metered


def _metered_iter(iterable: Any):
    """Every loop's iterable: one operation per iteration."""
    budget = _budget()
    for item in iterable:
        budget.charge()
        yield item


def _metered_environment_class():
    from jinja2 import nodes
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class MeteredEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "%", "+"})

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.filters = {name: _metered_filter(name, f) for name, f in self.filters.items()}
            self.filters["polc_metered_iter"] = _metered_iter

        def _parse(self, source, name, filename):
            tree = super()._parse(source, name, filename)
            for loop in tree.find_all(nodes.For):  # meter every loop's iterations
                loop.iter = nodes.Filter(loop.iter, "polc_metered_iter", [], [], None, None, lineno=loop.lineno)
            return tree

        def call(__self, __context, __obj, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja2's spelling
            budget = _budget()
            budget.charge()
            _check_call(budget, __obj, args, kwargs)
            return budget.check_size(super().call(__context, __obj, *args, **kwargs))

        def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
            budget = _budget()
            budget.charge()
            _check_binop(budget, operator, left, right)
            return budget.check_size(super().call_binop(context, operator, left, right))

    return MeteredEnvironment


def _raise_clear(prompt: Prompt, exc: Exception):
    """Re-raise a render failure as the PromptError that says what happened and where."""
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
    from jinja2.sandbox import SecurityError

    where = f"prompt `{prompt.signature}` ({_where(prompt, exc)})"
    if isinstance(exc, TemplateSyntaxError):
        raise PromptError(f"prompt `{prompt.signature}` ({prompt.origin}:{exc.lineno}): the template does not "
                          f"parse: {exc.message}") from None
    if isinstance(exc, SecurityError):
        raise PromptSecurityError(f"{where}: the sandbox refused an unsafe operation: {exc}") from exc
    if isinstance(exc, UndefinedError):
        raise PromptVariableError(f"{where}: {exc}; give the variable, or guard it with "
                                  "`{% if name is defined %}`") from exc
    if isinstance(exc, MemoryError):
        raise PromptBudgetError(f"{where}: rendering stopped: it ran out of memory; simplify the template") from None
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
