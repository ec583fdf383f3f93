"""Terraform for real in the tests: the binary on the PATH, the AWS provider from the machine's
filesystem mirror (never downloaded at run time), and moto's server on loopback as the AWS API.

moto lacks a few answers the provider needs; `GapFillingMotoServer` fills each of them in front of
moto's own WSGI application, named below. The module itself is never changed to please the emulator.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.aws import ACCOUNT, REGION

PROVIDER = "registry.terraform.io/hashicorp/aws"
# Where machine images put a filesystem mirror; the search is the one engines.md documents.
MIRROR_SEARCH_ROOTS = ("/opt", "/usr/share", "/usr/local/share", "/usr/local/lib", "/root", "/home")

# Every AWS service the module and its example call, pointed at the moto server.
SERVICES = (
    "athena", "cloudwatch", "glue", "iam", "kms", "logs", "s3", "scheduler", "sfn", "sns", "sqs", "sts",
)  # fmt: skip

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def find_mirror() -> Path | None:
    """The directory holding registry.terraform.io/hashicorp/aws/<version>/<os_arch>/, or None.

    $ALB502_TF_PLUGIN_DIR wins; otherwise the same search as `find / -maxdepth 4 -type d -name
    registry.terraform.io`, limited to the usual roots so it stays fast."""
    explicit = os.environ.get("ALB502_TF_PLUGIN_DIR")
    candidates = [Path(explicit)] if explicit else []
    for root in MIRROR_SEARCH_ROOTS:
        base = Path(root)
        if not base.is_dir():
            continue
        for depth in ("*", "*/*", "*/*/*"):
            candidates += [p.parent for p in base.glob(f"{depth}/registry.terraform.io") if p.is_dir()]
    for parent in candidates:
        if any((parent / PROVIDER).glob("*/linux_amd64/terraform-provider-aws_*")):
            return parent
    return None


def mirror_versions(mirror: Path) -> list[str]:
    return sorted(p.name for p in (mirror / PROVIDER).iterdir() if p.is_dir())


def cli_config(mirror: Path | None, dest: Path) -> Path:
    """A CLI config of our own: the mirror when there is one (no network for the AWS provider),
    otherwise Terraform's registry as any user would have it. $TF_CLI_CONFIG_FILE may name a file that
    does not exist (Terraform then warns on every command), so the tests never rely on it."""
    if mirror is None:
        dest.write_text("# Terraform's registry, as any user would.\n")
    else:
        dest.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{PROVIDER}"]\n  }}\n'
            f'  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n'
            "}\n"
        )
    return dest


def provider_override(endpoint: str | None) -> str:
    """An override file for a root module: the provider with fake credentials, pointed at moto."""
    if endpoint is None:  # validate only: no API is called, but the provider still wants a region
        return (
            'provider "aws" {\n  region = "eu-west-1"\n  skip_credentials_validation = true\n'
            "  skip_requesting_account_id = true\n  skip_metadata_api_check = true\n"
            '  access_key = "testing"\n  secret_key = "testing"\n}\n'
        )
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in SERVICES)
    return (
        'provider "aws" {\n'
        f'  region                      = "{REGION}"\n'
        '  access_key                  = "testing"\n'
        '  secret_key                  = "testing"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  skip_requesting_account_id  = false\n"
        "  s3_use_path_style           = true\n"
        f"  endpoints {{\n{endpoints}\n  }}\n"
        "}\n"
    )


@dataclass
class Terraform:
    """One root module in a scratch directory, run with our CLI config."""

    workdir: Path
    config: Path

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(self.config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.pop(name, None)
        done = subprocess.run(
            ["terraform", f"-chdir={self.workdir}", *args, "-no-color"],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"terraform {args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def output(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {k: v["value"] for k, v in raw.items()}


def scratch_copy(module: Path, dest: Path) -> Path:
    """The module (with its examples) copied to a scratch directory: .terraform and the state stay
    out of the repository, and the examples' `source = "../.."` still resolves."""
    shutil.copytree(module, dest, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return dest


def deprecation_warnings(text: str) -> list[str]:
    return [block for block in text.split("Warning:")[1:] if "deprecat" in block.lower()]


# ---------------------------------------------------------------------------------------------------
# moto's gaps, filled in front of its application.


def _json_response(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def fill_gaps(app: WsgiApp) -> WsgiApp:
    """moto's application with the provider's calls it lacks answered:

    - Step Functions `ValidateStateMachineDefinition` (not implemented: HTTP 500, which the provider
      retries until its timeout): answered OK. The definition is checked for real by asl-validator
      in tests/test_terraform.py, not here.
    - Step Functions `ListStateMachineVersions` (not implemented: the provider retries it after
      creating a state machine): answered with no versions, true of a machine never published.
    - Athena `DeleteNamedQuery` (not implemented: HTTP 500, which the provider retries until its
      timeout on destroy): the saved query is removed from moto's store, as AWS removes it.
    - Athena `DeleteWorkGroup` of a work group holding query executions or saved queries: moto deletes
      it, AWS refuses ("not empty") unless RecursiveDeleteOption is set; answered as AWS does, so a
      module that forgets `force_destroy` fails here as it would in an account.
    - Athena `ListTagsForResource` of a work group without tags: moto says the resource does not exist
      (HTTP 400), AWS answers an empty list: answered with an empty list when the work group exists.
    """

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target == "AWSStepFunctions.ValidateStateMachineDefinition":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            return _json_response(start_response, "200 OK", {"result": "OK", "diagnostics": []})
        if target == "AWSStepFunctions.ListStateMachineVersions":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            return _json_response(start_response, "200 OK", {"stateMachineVersions": []})
        if target == "AmazonAthena.DeleteNamedQuery":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            _athena_backend().named_queries.pop(json.loads(body or b"{}").get("NamedQueryId", ""), None)
            return _json_response(start_response, "200 OK", {})
        if target == "AmazonAthena.DeleteWorkGroup":
            import io

            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            request = json.loads(body or b"{}")
            if not request.get("RecursiveDeleteOption") and _athena_workgroup_in_use(
                request.get("WorkGroup", "")
            ):
                return _json_response(
                    start_response,
                    "400 Bad Request",
                    {"__type": "InvalidRequestException", "Message": "WorkGroup is not empty"},
                )
            environ["wsgi.input"] = io.BytesIO(body)
        if target == "AmazonAthena.ListTagsForResource":
            import io

            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            arn = json.loads(body or b"{}").get("ResourceARN", "")
            if _athena_workgroup_untagged(arn):
                return _json_response(start_response, "200 OK", {"Tags": []})
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return wrapped


def _athena_backend() -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[ACCOUNT][REGION]


def _athena_workgroup_in_use(name: str) -> bool:
    backend = _athena_backend()
    return any(
        getattr(item.workgroup, "name", item.workgroup) == name
        for item in [*backend.executions.values(), *backend.named_queries.values()]
    )


def _athena_workgroup_untagged(arn: str) -> bool:
    from moto.athena.models import athena_backends

    parts = arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("workgroup/"):
        return False
    backend = athena_backends[parts[4]][parts[3]]
    name = parts[5].removeprefix("workgroup/")
    return name in backend.work_groups and not backend.tagger.has_tags(arn)


class GapFillingMotoServer:
    """moto's threaded server, its application wrapped by `fill_gaps`."""

    def __init__(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                app = fill_gaps(DomainDispatcherApplication(create_backend_app))  # type: ignore[arg-type]
                self._server = make_server(
                    self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Server(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.account = ACCOUNT
        self.region = REGION

    def stop(self) -> None:
        self._server.stop()


# A definite JSONPath: fields and literal indexes only (no wildcard, slice, filter or deep scan).
_DEFINITE_PATH = re.compile(r"\$(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*")
_EXTRACT_JSON_USERS = (
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
    "moto.stepfunctions.parser.asl.component.intrinsic.argument.argument",
)


def definite_json_paths(monkeypatch: Any) -> None:
    """moto's Step Functions interpreter answers a path through an array index into a field
    (`$.rows[1].Data[0].VarCharValue`) with a one-element list where AWS answers the value (a
    workaround of moto's for another case, getmoto/moto#7825): the module's Count state would then
    parse a list. For definite paths the single match's value is returned, as AWS does."""
    import importlib

    from jsonpath_ng.ext import parse
    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        if _DEFINITE_PATH.fullmatch(path):
            matches = parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)

    monkeypatch.setattr(json_path, "extract_json", extract_json)
    for name in _EXTRACT_JSON_USERS:
        monkeypatch.setattr(importlib.import_module(name), "extract_json", extract_json)


def templatefile(files: dict[str, Path], variables: dict[str, Any], workdir: Path) -> dict[str, str]:
    """What Terraform's own templatefile() makes of each file with `variables` (a JSON-able map), as the
    module calls it: `terraform console` in an empty directory (no provider, no init, no network), one
    run for all the files. The texts come back base64-encoded, so the console prints them unchanged."""
    import base64

    if shutil.which("terraform") is None:
        raise AssertionError("terraform is not on the PATH: templatefile() needs the real binary")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "vars.json").write_text(json.dumps(variables))
    (workdir / "files.json").write_text(json.dumps({k: str(v) for k, v in files.items()}))
    config = cli_config(None, workdir / "terraformrc")
    expression = (
        'base64encode(jsonencode({ for k, f in jsondecode(file("files.json")) : '
        'k => templatefile(f, jsondecode(file("vars.json"))) }))\n'
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
    }
    done = subprocess.run(
        ["terraform", f"-chdir={workdir}", "console"],
        input=expression,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"terraform console failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    encoded = done.stdout.strip().strip('"')
    return dict(json.loads(base64.b64decode(encoded)))
