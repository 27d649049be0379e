"""Model loading in one place: offline by scoped arguments, never by changing os.environ."""

import os

import pytest

from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError
from sdcomp_lite.models import load_pretrained, load_sam, quiet_mediapipe, resolve_model


def test_resolve_model_tells_folders_from_hub_ids(tmp_path):
    assert resolve_model(tmp_path) == (str(tmp_path), True)
    assert resolve_model("google/owlv2-base-patch16-ensemble") == ("google/owlv2-base-patch16-ensemble", False)
    for missing in (str(tmp_path / "nothing"), "./models/x", "a/b/c"):
        with pytest.raises(BackendUnavailableError, match="model folder not found"):
            resolve_model(missing)


@pytest.fixture
def recorded(monkeypatch):
    """Every ``from_pretrained`` call's source and options; each call fails as an offline hub would."""
    import transformers

    calls = []

    def from_pretrained(source, **options):
        calls.append((source, options))
        raise OSError("not in the local cache")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", from_pretrained)
    return calls


@pytest.mark.parametrize("offline, expected", [(None, False), (True, True), (False, False)])
def test_hub_ids_are_offline_only_when_asked(recorded, offline, expected):
    before = dict(os.environ)
    with pytest.raises(BackendUnavailableError, match="hf download someone/model"):
        load_pretrained("someone/model", "AutoModelForZeroShotObjectDetection", offline=offline)
    assert recorded == [("someone/model", {"local_files_only": expected})]
    assert dict(os.environ) == before


@pytest.mark.parametrize("offline", [None, False])
def test_local_folders_never_touch_the_network(recorded, tmp_path, offline):
    with pytest.raises(BackendUnavailableError):
        load_pretrained(tmp_path, "AutoModelForZeroShotObjectDetection", offline=offline)
    assert recorded == [(str(tmp_path), {"local_files_only": True})]


def test_sam_checks_type_then_file(tmp_path):
    with pytest.raises(UnknownBackendError, match="vit_b, vit_l or vit_h"):
        load_sam(tmp_path / "sam.pth", "vit_q")
    with pytest.raises(BackendUnavailableError, match="SAM checkpoint not found"):
        load_sam(tmp_path / "sam.pth", "vit_b")


def test_quiet_mediapipe_restores_stderr_and_hides_only_mediapipes_own_output(capfd):
    import warnings

    with quiet_mediapipe():
        pass  # the first call adds its one narrow filter (the protobuf notice)
    descriptor = os.fstat(2)
    filters = list(warnings.filters)
    with quiet_mediapipe():
        os.write(2, b"W0000 00:00:1796287529.270970   18071 x.cc:114] native log line that nobody should see\n")
        os.write(2, b"any other line is kept\n")
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (descriptor.st_dev, descriptor.st_ino)
    assert list(warnings.filters) == filters
    err = capfd.readouterr().err
    assert "any other line is kept" in err and "nobody should see" not in err
    with pytest.warns(UserWarning, match="not hidden"), quiet_mediapipe():
        warnings.warn("not hidden", UserWarning, stacklevel=1)
