"""Settings: defaults, then instance/config.py, then the environment; secrets made on first run."""

import os

from survey import create_app
from survey.config import normalise_database_url


def test_secret_key_is_generated_into_the_instance_folder_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) == 64
    secret_file = tmp_path / "secret_key"
    assert secret_file.read_text() == first
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "ballot_code_key").exists()


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'survey.sqlite'}"


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "config.py").write_text(
        'PUBLIC_BASE_URL = "http://10.0.0.5:8000/"\nSECRET_KEY = "from-file"\n'
    )
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://ceping.example.gov.cn/")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-file"
    assert app.config["PUBLIC_BASE_URL"] == "https://ceping.example.gov.cn"
    assert not (tmp_path / "secret_key").exists()


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_public_base_url_defaults_to_a_reachable_address(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    url = create_app().config["PUBLIC_BASE_URL"]
    assert url.startswith("http://") and url.endswith(":5000")
    assert os.environ["SURVEY_INSTANCE_PATH"] == str(tmp_path)
