"""``[prompts.<signature>]``: Jinja2 instruction templates, read, parsed and checked at build time.

A template is inline (``template = \"\"\"...\"\"\"``) or a file (``template_file = "prompts/x.j2"``,
read through ``read_source``, so it must stay inside the project). It is parsed in Jinja2's
sandboxed environment; nothing is rendered at build time. Every finding points at the line
of the template: in its file, or in model_policy.toml (the TOML line of the value plus the
template line offset) for an inline template.

>>> t = TemplateText("sum", "Summarize {{ text }}.\\n", "prompts/sum.j2", "Summarize {{ text }}.\\n", 1, 1, False)
>>> facts = analyze(t)
>>> sorted(facts.used), str(t.span(1, "text"))
(['text'], 'prompts/sum.j2:1:14')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..diagnostics import Diagnostic, Span
from ..errors import InputError
from ..frontend.toml import TomlDocument
from ..sources import read_source


@dataclass(frozen=True)
class TemplateText:
    """A template's text and where its first line stands in the file that holds it."""

    signature: str
    text: str
    file: str                 # project-relative file holding the template (its .j2, or model_policy.toml)
    host_text: str            # that file's whole text, to find columns
    first_line: int           # line of the host file where template line 1 starts
    first_column: int
    single_line: bool         # a one-line TOML string: escaped newlines do not move the line
    template_file: str | None = None

    def span(self, line: int, needle: str | None = None) -> Span:
        """The host-file span of template ``line`` (1-based), at ``needle`` when it is on that line."""
        host_line = self.first_line if self.single_line else self.first_line + max(line, 1) - 1
        lines = self.host_text.splitlines()
        text = lines[host_line - 1] if 0 < host_line <= len(lines) else ""
        start = self.first_column - 1 if host_line == self.first_line else 0
        at = text.find(needle, start) if needle else -1
        if at < 0:
            return Span(self.file, host_line, start + 1)
        return Span(self.file, host_line, at + 1, host_line, at + 1 + len(needle))


@dataclass(frozen=True)
class TemplateFacts:
    """What the parsed template reads; ``used`` maps a variable to the first line using it."""

    used: dict[str, int] = field(default_factory=dict)
    forbidden: tuple[tuple[int, str], ...] = ()     # (line, attribute) the sandbox would refuse
    imports: tuple[tuple[int, str], ...] = ()       # (line, tag) of include/extends/import
    errors: tuple[Diagnostic, ...] = ()


# -- reading --------------------------------------------------------------------------------

def load_templates(doc: TomlDocument, root) -> tuple[dict[str, TemplateText], tuple, list[Diagnostic]]:
    """Every prompt's template text; file templates are read safely and returned as sources."""
    templates, sources, found = {}, [], []
    for signature, prompt in doc.data.get("prompts", {}).items():
        path = ("prompts", signature)
        if ("template" in prompt) == ("template_file" in prompt):
            found.append(Diagnostic.error(
                "POLC504", f"prompt `{signature}` needs exactly one of `template` and `template_file`",
                doc.index.key(path), hint="write the template inline (template = \"\"\"...\"\"\") or name its "
                                          "file (template_file = \"prompts/x.j2\"), not both"))
        elif "template" in prompt:
            templates[signature] = _inline(doc, signature, prompt["template"])
        else:
            try:
                source = read_source(root, prompt["template_file"], doc.index.value(path + ("template_file",)),
                                     allow_empty=True)
            except InputError as exc:
                found.extend(exc.diagnostics)
                continue
            sources.append(source)
            templates[signature] = TemplateText(signature, source.text, source.rel, source.text, 1, 1, False,
                                                source.rel)
    return templates, tuple(sources), found


def _inline(doc: TomlDocument, signature: str, text: str) -> TemplateText:
    span = doc.index.value(("prompts", signature, "template"))
    lines = doc.source.text.splitlines()
    host = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
    opening = host[span.column - 1:span.column + 2]
    if opening in ('"""', "'''"):
        rest = host[span.column + 2:]
        if not rest.strip():  # TOML trims the newline right after the opening quotes
            return TemplateText(signature, text, doc.source.rel, doc.source.text, span.line + 1, 1, False)
        return TemplateText(signature, text, doc.source.rel, doc.source.text, span.line, span.column + 3, False)
    return TemplateText(signature, text, doc.source.rel, doc.source.text, span.line, span.column + 1, True)


# -- parsing --------------------------------------------------------------------------------

def _forbidden(attribute: str) -> bool:
    """Attributes the runtime sandbox refuses: private/dunder names and interpreter internals."""
    from jinja2 import sandbox

    unsafe = (sandbox.UNSAFE_FUNCTION_ATTRIBUTES | sandbox.UNSAFE_METHOD_ATTRIBUTES
              | sandbox.UNSAFE_GENERATOR_ATTRIBUTES | sandbox.UNSAFE_COROUTINE_ATTRIBUTES
              | sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES | {"mro"})
    return attribute.startswith("_") or attribute in unsafe


def analyze(template: TemplateText) -> TemplateFacts:
    """Parse in the sandboxed environment and collect the variables and attributes it reads."""
    from jinja2 import TemplateSyntaxError, meta, nodes
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment()
    try:
        ast = env.parse(template.text)
        names = meta.find_undeclared_variables(ast) - set(env.globals)
        used: dict[str, int] = {}
        for node in ast.find_all(nodes.Name):
            if node.ctx == "load" and node.name in names:
                used[node.name] = min(used.get(node.name, node.lineno), node.lineno)
        return TemplateFacts(used, tuple(_forbidden_accesses(ast, nodes)), tuple(_imports(ast, nodes)))
    except TemplateSyntaxError as exc:
        return TemplateFacts(errors=(Diagnostic.error(
            "POLC500", f"prompt `{template.signature}`: template syntax error: {exc.message}",
            template.span(exc.lineno or 1), hint="see https://jinja.palletsprojects.com/templates/ "
                                                 "for the syntax; every {% block %} needs its {% end... %}"),))
    except RecursionError:
        return TemplateFacts(errors=(Diagnostic.error(
            "POLC500", f"prompt `{template.signature}`: template is nested too deeply to parse",
            template.span(1), hint="flatten the template"),))


def _forbidden_accesses(ast, nodes) -> Iterator[tuple[int, str]]:
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        else:  # `x|attr("__class__")` is the filter spelling of the same access
            name = node.args[0].value if node.name == "attr" and node.args and isinstance(
                node.args[0], nodes.Const) else None
        if isinstance(name, str) and _forbidden(name):
            yield node.lineno, name


def _imports(ast, nodes) -> Iterator[tuple[int, str]]:
    tags = {nodes.Include: "include", nodes.Extends: "extends", nodes.Import: "import", nodes.FromImport: "import"}
    for node in ast.find_all(tuple(tags)):
        yield node.lineno, tags[type(node)]


# -- checking -------------------------------------------------------------------------------

def check_prompts(doc: TomlDocument, templates: dict[str, TemplateText],
                  facts: dict[str, TemplateFacts]) -> Iterator[Diagnostic]:
    for signature, prompt in doc.data.get("prompts", {}).items():
        declared = prompt.get("variables", {})
        if signature in facts:
            yield from _check_template(doc, templates[signature], facts[signature], declared)
        for i, demo in enumerate(prompt.get("demos", [])):
            yield from _check_demo(doc, signature, i, demo, declared)


def _check_template(doc, template: TemplateText, facts: TemplateFacts, declared: dict) -> Iterator[Diagnostic]:
    sig = template.signature
    yield from facts.errors
    for line, attribute in facts.forbidden:
        yield Diagnostic.error("POLC503", f"prompt `{sig}` reads `{attribute}`, which the template sandbox forbids",
                               template.span(line, attribute),
                               hint="templates may read only public data of their variables; remove the access")
    for line, tag in facts.imports:
        yield Diagnostic.error("POLC506", f"prompt `{sig}` uses `{{% {tag} %}}`; a prompt template must be "
                               "self-contained", template.span(line, tag),
                               hint="inline the other template's text, or use a {% macro %} in this template")
    for name, line in sorted(facts.used.items(), key=lambda item: (item[1], item[0])):
        if name not in declared:
            yield Diagnostic.error("POLC501", f"prompt `{sig}` uses variable `{name}`, which is not declared",
                                   template.span(line, name),
                                   hint=f"declare it: [prompts.{sig}.variables] {name} = {{ type = \"string\" }}")
    if facts.errors:
        return  # the template did not parse, so "never used" would be noise
    for name in declared:
        if name not in facts.used:
            yield Diagnostic.warning("POLC502", f"prompt `{sig}` declares variable `{name}` but its template "
                                     "never uses it", doc.index.key(("prompts", sig, "variables", name)),
                                     hint="use it in the template or remove the declaration")


def _check_demo(doc, signature: str, i: int, demo: dict, declared: dict) -> Iterator[Diagnostic]:
    from ..runtime.prompts import TYPE_CHECKS

    path = ("prompts", signature, "demos", i)
    given = demo.get("input", {})
    for name, value in given.items():
        spec = declared.get(name)
        if spec is None:
            yield Diagnostic.error("POLC505", f"demo {i + 1} of prompt `{signature}` gives `{name}`, which is not "
                                   "a declared variable", doc.index.key(path + ("input", name)),
                                   hint=f"declared: {', '.join(sorted(declared)) or 'none'}")
        elif not TYPE_CHECKS[spec["type"]](value) or not _plain(value):
            yield Diagnostic.error("POLC505", f"demo {i + 1} of prompt `{signature}`: `{name}` must be "
                                   f"{spec['type']}", doc.index.value(path + ("input", name)),
                                   hint="dates and times are not allowed in demos; write them as strings")
    for name, spec in declared.items():
        if spec.get("required", True) and name not in given:
            yield Diagnostic.error("POLC505", f"demo {i + 1} of prompt `{signature}` lacks required variable "
                                   f"`{name}`", doc.index.key(path + ("input",)),
                                   hint=f"add `{name} = ...` to the demo's input")
    if not _plain(demo.get("output")):
        yield Diagnostic.error("POLC505", f"demo {i + 1} of prompt `{signature}`: the output holds a date or time",
                               doc.index.value(path + ("output",)), hint="write dates and times as strings")


def _plain(value) -> bool:
    """JSON-representable (the snapshot is JSON): no TOML dates or times anywhere inside."""
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


# -- lowering -------------------------------------------------------------------------------

def lower_prompts(data: dict, templates: dict[str, TemplateText]) -> dict[str, dict]:
    """Signature → template source, its file (null when inline), variables and demos."""
    out = {}
    for signature, prompt in data.get("prompts", {}).items():
        template = templates[signature]
        out[signature] = {
            "description": prompt.get("description"),
            "template": template.text,
            "template_file": template.template_file,
            "variables": {name: {"type": spec["type"], "required": spec.get("required", True),
                                 "description": spec.get("description")}
                          for name, spec in prompt.get("variables", {}).items()},
            "demos": [{"input": dict(d["input"]), "output": d["output"]} for d in prompt.get("demos", [])],
        }
    return out
