"""API tokens with roles (no Ray): kept hashed, checked, revoked; the gateway's roles; the
``raymaker tokens`` commands."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from raymaker.access import Tokens, check_roles
from raymaker.errors import AuthError, Forbidden, NotFound, SpecError
from raymaker.storage import open_store


@pytest.fixture
def tokens(tmp_path):
    return Tokens(open_store(str(tmp_path / "store")), admin_token="serve-secret")


def test_a_token_is_kept_hashed_and_names_its_holder(tokens):
    token, record = tokens.create("alice", ["viewer"])
    assert token.startswith("rmk_") and record["roles"] == ["viewer"]
    stored = tokens.store.read_text(f"access/tokens/{record['id']}.json")
    assert token not in stored and token.split("_", 2)[2] not in stored
    who = tokens.identify(token)
    assert (who.name, who.roles, who.token_id) == ("alice", ("viewer",), record["id"])
    assert who.can("read") and not who.can("invoke")
    with pytest.raises(Forbidden, match=r"alice \(viewer\) may not approve; roles that may: "
                                        r"approver, admin"):  # fmt: skip
        who.require("approve")
    assert [r["name"] for r in tokens.list()] == ["alice"]
    assert "sha256" not in tokens.list()[0]


def test_wrong_revoked_and_malformed_tokens_are_refused(tokens):
    token, record = tokens.create("bob", ["operator", "approver"])
    for bad in ["", "nope", token + "x", f"rmk_{record['id']}_guess", "rmk_../../x_y", "rmk_é_x"]:
        with pytest.raises(AuthError):
            tokens.identify(bad)
    assert tokens.identify("serve-secret").roles == ("admin",)  # RAYMAKER_SERVE_TOKEN
    assert tokens.identify(token).can("approve") and tokens.identify(token).can("operate")
    assert [r["id"] for r in tokens.revoke("bob")] == [record["id"]]
    with pytest.raises(AuthError, match="was revoked"):
        tokens.identify(token)
    with pytest.raises(NotFound, match="no live token"):
        tokens.revoke("bob")


def test_a_token_may_expire(tokens, monkeypatch):
    import time

    token, record = tokens.create("temp", ["viewer"], expires_in="2h")
    assert 7190 < record["expires_at"] - time.time() <= 7200
    assert tokens.identify(token).name == "temp"
    later = time.time() + 7201
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AuthError, match=r"token \w+ \(temp\) expired at"):
        tokens.identify(token)
    for bad in ("2 weeks", "0d", "-1h", "h"):
        with pytest.raises(SpecError, match="s, m, h or d"):
            tokens.create("x", ["viewer"], expires_in=bad)


def test_authenticate_without_a_header(tokens):
    assert tokens.authenticate(None, required=False).roles == ("admin",)  # the local user
    with pytest.raises(AuthError, match="a token is required"):
        tokens.authenticate(None, required=True)
    with pytest.raises(AuthError, match="Bearer"):
        tokens.authenticate("Basic abc", required=False)


def test_roles_are_checked_with_a_did_you_mean():
    assert check_roles(["viewer", "viewer", "admin"]) == ("viewer", "admin")
    with pytest.raises(SpecError, match=r"role 'aprover' is unknown \(did you mean 'approver'"):
        check_roles(["aprover"])
    with pytest.raises(SpecError, match="at least one role"):
        check_roles([])


def test_the_gateway_lets_only_invokers_call(tmp_path):
    from test_gateway import SlowPool, call

    from raymaker.serve.gateway import Gateway

    store_env = {"RAYMAKER_STORE": str(tmp_path / "store")}
    tokens = Tokens(open_store(store_env["RAYMAKER_STORE"]))
    viewer, _ = tokens.create("v", ["viewer"])
    invoker, _ = tokens.create("i", ["invoker"])
    for host, token in (("127.0.0.1", None), ("0.0.0.0", "admin-secret")):
        gw = Gateway(host, 0, token, 1000, store_env)
        gw.endpoints["e"] = {"variants": [{"name": "A", "app": "a", "key": "k", "weight": 1.0,
                                           "shadow": False}], "capture": None}  # fmt: skip
        gw.pools["a"] = SlowPool()

        def status(headers, gw=gw):
            return asyncio.run(call(gw, "/endpoints/e/invocations", b"1", headers))[0]

        assert status({"Authorization": f"Bearer {invoker}"}) == 200
        assert status({"Authorization": f"Bearer {viewer}"}) == 403
        assert status({"Authorization": "Bearer wrong"}) == 401
        assert status({}) == (401 if token else 200)  # beyond loopback: a token or nothing
        signed = {
            "Authorization": "AWS4-HMAC-SHA256 Credential=k/20261203/us-east-1/"
            "sagemaker/aws4_request, SignedHeaders=host, Signature=00"
        }
        assert status(signed) == (401 if token else 200)  # boto3 on loopback: as before
        if token:
            assert status({"Authorization": f"Bearer {token}"}) == 200


def test_tokens_commands(tmp_path, monkeypatch):
    from raymaker.cli.main import cli

    monkeypatch.setenv("RAYMAKER_STORE", str(tmp_path / "store"))
    runner = CliRunner()
    made = runner.invoke(cli, ["tokens", "create", "carol", "--role", "approver"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("rmk_")
    listed = runner.invoke(cli, ["tokens", "list"])
    assert "carol" in listed.output and "approver" in listed.output and token not in listed.output
    bad = runner.invoke(cli, ["tokens", "create", "x", "--role", "viewr"])
    assert bad.exit_code == 2 and "'viewr' is not one of" in bad.output
    gone = runner.invoke(cli, ["tokens", "revoke", "carol"])
    assert gone.exit_code == 0 and "revoked" in gone.output


def test_the_console_command_refuses_a_host_beyond_loopback_without_tokens(
    tmp_path, monkeypatch, capsys
):
    from raymaker.cli.main import main

    monkeypatch.setenv("RAYMAKER_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("RAYMAKER_SERVE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["console", "--host", "0.0.0.0", "--port", "1"])
    assert exited.value.code == 2
    assert "error: the console at 0.0.0.0" in capsys.readouterr().err
