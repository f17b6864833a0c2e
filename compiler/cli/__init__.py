"""The ``polc`` command line (click). Subcommands load lazily so ``polc --help`` starts fast.

Exit codes (docs/getting-started.md): 0 success, 1 error-level findings, 2 usage, 3 unreadable input,
4 integrity failure. No command ends in a traceback on bad input.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..errors import ExitCode, PolcError

#: name -> "module:attribute" of the click command, imported only when it runs.
LAZY_COMMANDS: dict[str, str] = {
    "delta": "compiler.cli.storage_cmd:delta_cmd",
    "archive": "compiler.cli.storage_cmd:archive_cmd",
    "restore": "compiler.cli.storage_cmd:restore_cmd",
    "migrate": "compiler.cli.storage_cmd:migrate_cmd",
    "backfill": "compiler.cli.storage_cmd:backfill_cmd",
    "verify": "compiler.cli.storage_cmd:verify_cmd",
    "ledger": "compiler.cli.storage_cmd:ledger_cmd",
    "build": "compiler.cli.build_cmd:build_cmd",
    "fmt": "compiler.cli.fmt_cmd:fmt_cmd",
    "check": "compiler.cli.build_cmd:check_cmd",
    "explain": "compiler.cli.explain_cmd:explain_cmd",
    "schema": "compiler.cli.inspect_cmd:schema_cmd",
    "list": "compiler.cli.inspect_cmd:list_cmd",
    "show": "compiler.cli.inspect_cmd:show_cmd",
    "current": "compiler.cli.inspect_cmd:current_cmd",
    "diff": "compiler.cli.diff_cmd:diff_cmd",
    "registry": "compiler.cli.registry_cmd:registry",
    "gate": "compiler.cli.registry_cmd:gate",
    "serve": "compiler.cli.serve_cmd:serve_cmd",
    "route": "compiler.cli.runtime_cmd:route_cmd",
    "trace": "compiler.cli.runtime_cmd:trace_cmd",
    "init": "compiler.cli.project_cmd:init_cmd",
    "validate": "compiler.cli.project_cmd:validate_cmd",
    "gc": "compiler.cli.storage_cmd:gc_cmd",
    "push": "compiler.cli.oci_cmd:push_cmd",
    "pull": "compiler.cli.oci_cmd:pull_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx, name):
        target = LAZY_COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="polc", prog_name="polc")
def cli():
    """polc: compile, check, diff and govern model-routing policies."""


def main(argv=None) -> None:
    try:
        code = cli.main(args=argv, prog_name="polc", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("polc: aborted", err=True)
        code = ExitCode.FINDINGS
    except click.ClickException as exc:  # usage errors: click's own message, exit 2
        exc.show()
        code = ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
    except PolcError as exc:
        from ..render import render_error

        render_error(exc, sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # a bug in polc, not bad input: say so plainly
        if os.environ.get("POLC_DEBUG"):
            raise
        click.echo(f"polc: internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in polc; rerun with POLC_DEBUG=1 for the traceback and report it.", err=True)
        code = 70
    sys.exit(int(code or 0))
