"""The systemd units in deploy/systemd: every process is restarted whatever made it stop."""

import configparser
import shlex
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"


class UnitFile(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # systemd keys are case-sensitive


def unit(name: str) -> configparser.ConfigParser:
    parser = UnitFile(strict=False, interpolation=None)
    parser.read(UNITS / name)
    return parser


@pytest.mark.parametrize(
    "name, program",
    [
        ("rapport-web.service", ["gunicorn", "crm.wsgi:application"]),
        ("rapport-worker.service", ["celery", "-A", "crm", "worker"]),
        ("rapport-beat.service", ["celery", "-A", "crm", "beat"]),
    ],
)
def test_each_process_has_a_unit_that_always_restarts_it_and_never_gives_up(name, program):
    service = unit(name)["Service"]
    command = [Path(word).name if i == 0 else word for i, word in enumerate(shlex.split(service["ExecStart"]))]

    assert command[: len(program)] == program
    assert service["Restart"] == "always"
    assert unit(name)["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["EnvironmentFile"] == "/etc/rapport/rapport.env"


def test_the_worker_is_stopped_warmly_main_process_first():
    service = unit("rapport-worker.service")["Service"]

    assert (service["KillMode"], service["KillSignal"]) == ("mixed", "SIGTERM")


def test_the_example_environment_file_holds_placeholders_not_secrets():
    text = (UNITS / "rapport.env.example").read_text()

    assert "change-me" in text and "REDIS_URL=" in text and "DATABASE_URL=" in text
