"""A real LiteLLM proxy (1.110.2) run as a separate process in front of the loopback fake upstream.

    with LiteLLMProxy.start(command, upstream.url, [Route("gpt-4o", retries=0)], workdir) as proxy:
        ...  # point the installed `interpreter` at proxy.url with --api-key MASTER_KEY

LiteLLM pins its own openai and pydantic, so it lives in a venv of its own that `.ci/run` installs (`.ci/.litellm`);
the `litellm` command is found through INTERPRETER_TEST_LITELLM, else in that venv. Nothing reaches the internet:
LITELLM_OFFLINE_MODE makes LiteLLM use the bundled copies of what it would fetch from GitHub at start (the model cost
map, Anthropic beta headers, blog posts, templates) [src] litellm/litellm_core_utils/offline_mode.py; it sends no
telemetry (`--telemetry` is a no-op in 1.110.2), and a trace of its connections while it started and answered a chat
showed loopback ones only. The proxy has no database, so it takes only its master key.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fake_server import closed_port

VERSION = "1.110.2"
COMMAND_VARIABLE = "INTERPRETER_TEST_LITELLM"
VENV_COMMAND = Path(__file__).resolve().parent.parent / ".ci" / ".litellm" / "bin" / "litellm"
# The proxy refuses to start without a master key, or with a weak one (litellm/proxy/auth/master_key_boot_check.py).
MASTER_KEY = "sk-4f1c9a27d0b84e6b9a3f5c7e2d1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"
_OFFLINE = {"LITELLM_OFFLINE_MODE": "true", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
READY_WITHIN = 300  # seconds: importing the proxy takes 10-40 s here, more on a machine shared by many
_STOP_WITHIN = 15.0


def litellm_command() -> Path:
    """Where the `litellm` command should be: INTERPRETER_TEST_LITELLM, else the venv `.ci/run` installs it in."""
    named = os.environ.get(COMMAND_VARIABLE)
    return Path(named) if named else VENV_COMMAND


@dataclass(frozen=True)
class Route:
    """A model name the proxy serves from the upstream; `retries` is its own num_retries (None: LiteLLM's default)."""

    model: str
    retries: int | None = 0


def config_yaml(upstream_url: str, routes: Sequence[Route]) -> str:
    """The proxy's config.yaml: each route as `openai/<model>` at the upstream; the master key; no database."""
    lines = ["model_list:"]
    for route in routes:
        lines += [
            f"  - model_name: {route.model}",
            "    litellm_params:",
            f"      model: openai/{route.model}",
            f"      api_base: {upstream_url}",
            "      api_key: sk-upstream",
        ]
        if route.retries is not None:
            lines.append(f"      num_retries: {route.retries}")
    # Without cooldowns: by default a deployment that failed is skipped for a while (the proxy answers 429 "No
    # deployments available"), which would carry one test's failures into the next.
    settings = ["router_settings:", "  disable_cooldowns: true", "general_settings:", f"  master_key: {MASTER_KEY}"]
    return "\n".join([*lines, *settings, ""])


class ProxyFailed(RuntimeError):
    """The proxy exited or never became ready; the message ends with its log."""


@dataclass(frozen=True)
class LiteLLMProxy:
    """A running proxy: `url` is the base URL a client is given (`http://127.0.0.1:PORT/v1`)."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    @classmethod
    @contextmanager
    def start(cls, command: Path, upstream_url: str, routes: Sequence[Route], workdir: Path) -> Iterator[LiteLLMProxy]:
        """Start the proxy on a free loopback port, wait until it is ready, and always stop it afterwards."""
        config = workdir / "config.yaml"
        config.write_text(config_yaml(upstream_url, routes))
        proxy = cls._spawn(command, config, workdir / "proxy.log")
        try:
            proxy.wait_ready()
            yield proxy
        finally:
            proxy.stop()

    @classmethod
    def _spawn(cls, command: Path, config: Path, log: Path) -> LiteLLMProxy:
        """The process, its output going to `log`."""
        port = closed_port()
        env = {name: value for name, value in os.environ.items() if not name.startswith("OPENAI_")}
        argv = [str(command), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv, env={**env, **_OFFLINE}, stdout=output, stderr=subprocess.STDOUT, cwd=config.parent
            )
        return cls(process, port, log)

    def wait_ready(self) -> None:
        """Return once /health/readiness answers 200; raise ProxyFailed if the process exits or takes too long."""
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProxyFailed(f"the LiteLLM proxy exited ({self.process.returncode}):\n{self._log_tail()}")
            if self._ready():
                return
            time.sleep(0.2)
        raise ProxyFailed(f"the LiteLLM proxy was not ready within {READY_WITHIN:.0f}s:\n{self._log_tail()}")

    def _ready(self) -> bool:
        """Whether the readiness endpoint answers 200 now."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/readiness", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Terminate the proxy (kill it if it lingers) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _log_tail(self, lines: int = 30) -> str:
        """The last lines of the proxy's output."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
