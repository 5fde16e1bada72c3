"""The Dockerfile, checked without building it (a 9 GB image is too slow for the test machine):
the same install script as the README, Python 3.11, a non-root user with uid 1000, port 7860,
writable HOME and caches, a health check that works for either front end."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def args_of(op: str) -> list[str]:
    return [rest for o, rest in instructions() if o == op]


def test_base_image_is_the_spaces_python():
    from tests.gradio.test_hosting_space import front_matter

    (base,) = args_of("FROM")
    assert base.startswith(f"python:{front_matter()['python_version']}-")


def test_installs_with_the_readme_script_as_root_then_runs_as_uid_1000():
    ops = instructions()
    setup = [i for i, (o, r) in enumerate(ops) if o == "RUN" and "bash scripts/setup.sh" in r]
    user = [i for i, (o, r) in enumerate(ops) if o == "USER"]
    assert setup and user and setup[0] < user[0], "setup.sh must run before switching to the app user"
    assert args_of("USER") == ["user"]
    assert any("useradd" in r and "--uid 1000" in r and r.split()[-1] == "user" for r in args_of("RUN"))
    for _, src in [(o, r) for o, r in ops if o == "COPY"]:
        for part in src.split()[:-1]:
            if not part.startswith("--"):
                assert (ROOT / part).exists(), f"COPY source {part} is missing"


def test_home_and_caches_are_the_users_and_writable():
    env = " ".join(args_of("ENV"))
    for var in ("HOME=/home/user", "HF_HOME=/home/user/", "NLP_STUDIO_CACHE=/home/user/", "GRADIO_TEMP_DIR=/home/user/",
                "NLP_STUDIO_SESSION_FILES=/home/user/"):
        assert var in env, var
    runs_as_user = instructions()[[o for o, _ in instructions()].index("USER"):]
    assert any(o == "RUN" and "mkdir -p" in r and "$HF_HOME" in r for o, r in runs_as_user)  # made by the user


def test_offline_weights_are_prepared_at_build_time():
    runs = " ".join(args_of("RUN"))
    assert "core.download --prepare $PRELOAD_MODELS" in runs


def test_the_build_step_that_prepares_weights_runs_here():
    """The image's weight step, run as the image runs it: SmolLM2's GGUF comes out as a model folder
    (a renamed import once broke this line while every string check above still passed). The
    conversion itself is tested with the chat model; here the shared cache keeps it to one."""
    from core import download
    from core.config import cache_dir

    lines = download.prepare_installed()
    (line,) = [x for x in lines if x.startswith("smollm2-135m: ")]
    folder = Path(line.split(": ", 1)[1])
    assert folder.is_dir() and cache_dir() in folder.parents
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))


def test_every_module_the_image_runs_exists():
    import importlib.util

    text = (ROOT / "Dockerfile").read_text() + (ROOT / "docker-compose.yml").read_text()
    modules = set(re.findall(r"python -m ([\w.]+)", text)) | set(re.findall(r'"-m", "([\w.]+)"', text))
    assert "core.download" in modules and "streamlit" in modules
    for name in modules:
        assert importlib.util.find_spec(name) is not None, f"the image runs `python -m {name}`, which is missing"
    for script in re.findall(r"\b((?:scripts/)?[\w/]+\.py)\b", text):
        assert (ROOT / script).is_file(), f"the image runs {script}, which is missing"


def test_port_7860_and_a_health_check():
    assert args_of("EXPOSE") == ["7860"]
    cmd = shlex.split(args_of("CMD")[-1].replace(",", " ").strip("[]"))
    assert "streamlit_app.py" in " ".join(cmd) and "7860" in cmd and "0.0.0.0" in cmd
    (health,) = args_of("HEALTHCHECK")
    assert "scripts/healthcheck.py" in health and "7860" in health and "--start-period" in health
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ".venv/" in ignore and ".git/" in ignore


def test_healthcheck_script_answers_for_a_running_app_and_fails_for_none(app_url):
    import importlib.util
    import urllib.parse

    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "scripts" / "healthcheck.py")
    health = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(health)
    port = urllib.parse.urlparse(app_url).port
    assert health.main(["--port", str(port)]) == 0
    from tests.conftest import _free_port

    assert health.main(["--port", str(_free_port()), "--host", "127.0.0.1"]) == 1


@pytest.mark.slow
def test_healthcheck_script_answers_for_streamlit(streamlit_url):
    import subprocess
    import sys
    import urllib.parse

    port = urllib.parse.urlparse(streamlit_url).port
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "healthcheck.py"), "--port", str(port)], timeout=30)
    assert run.returncode == 0
