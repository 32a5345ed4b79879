import threading

import pytest

from scenebridge.errors import UsageError
from scenebridge.store.profiles import ProfileStore

pytestmark = pytest.mark.unit


def test_history_feedback_and_forget(tmp_path):
    path = tmp_path / "p" / "profiles.sqlite"
    store = ProfileStore(path)
    store.record_many("u1", [("a1", "art"), ("a2", "art"), ("o1", "office")], kind="history")
    store.record("u1", "a3", "art", "like")
    store.record("u1", "a2", "art", "dislike")
    store.record("u2", "a1", "art", "like")
    assert store.history("u1") == ["a1", "o1", "a3"]
    assert store.history("u1", exclude_scene="office") == ["a1", "a3"]
    assert store.disliked("u1") == {"a2"}
    store.record("u1", "a2", "art", "like")  # a later like lifts the rejection
    assert store.disliked("u1") == set()
    assert store.users() == ["u1", "u2"]
    store.close()
    again = ProfileStore(path)  # persisted
    assert again.forget("u1") == 6
    assert again.events("u1") == []
    assert again.history("u2") == ["a1"]


@pytest.mark.parametrize(("user", "kind"), [("", "like"), ("x" * 201, "like"), ("u", "love")])
def test_bad_user_or_kind_is_a_usage_error(user, kind):
    with pytest.raises(UsageError):
        ProfileStore(":memory:").record(user, "a1", "art", kind)


def test_concurrent_writers():
    store = ProfileStore(":memory:")

    def work(n: int) -> None:
        for i in range(50):
            store.record(f"u{n}", f"i{i}", "art", "view")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(store.history(f"u{n}")) for n in range(8)) == [50] * 8


def test_unwritable_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot open the profile store"):
        ProfileStore(blocker / "sub" / "p.sqlite")


def test_import_interactions_replaces_history_and_keeps_feedback():
    store = ProfileStore(":memory:")
    store.record("u1", "o9", "office", "dislike")
    rows = [("u1", "a2", "art", 2.0), ("u1", "a1", "art", 1.0), ("u2", "o1", "office", 1.0)]
    assert store.import_interactions(rows) == 3
    assert store.import_interactions(rows) == 3  # again: replaced, not duplicated
    assert store.history("u1") == ["a1", "a2"]
    assert store.disliked("u1") == {"o9"}


def test_profiles_cli_import_show_forget(tiny_dataset, tmp_path):
    import subprocess
    import sys

    db = str(tmp_path / "p.sqlite")

    def sb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scenebridge.cli", "profiles", *args, "--profiles", db],
                              capture_output=True, text=True, check=False)  # fmt: skip

    imported = sb("import", str(tiny_dataset), "--users", "u1,u2")
    assert imported.returncode == 0, imported.stderr
    assert "16 history events for 2 users" in imported.stdout
    shown = sb("show", "u1")
    assert shown.stdout.splitlines()[0].split() == ["a", "history", shown.stdout.split()[2]]
    assert sb("forget", "u1").stdout.strip() == "deleted 8 events of user 'u1'"
    missing = sb("show", "u1")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no profile for user 'u1'"
    assert sb("import", str(tiny_dataset), "--users", "nobody").stderr.startswith("error: none of the users")
