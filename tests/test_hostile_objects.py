"""Issue 11, findings 8 and 9: objects that the container cannot hold are refused up front by
validate_objects (and so by encode) with an InvalidObjectError that names the object and the fix."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcomp_lite.coding import encode
from sdcomp_lite.errors import InvalidObjectError
from sdcomp_lite.types import MAX_IMPORTANCE, MAX_OBJECTS, SceneObject, validate_objects

H, W = 8, 12
MASK = np.zeros((H, W), bool)
MASK[2:5, 3:7] = True


def _object(object_id=1, label="cat", mask=MASK, importance=0.5):
    return SceneObject(object_id, label, (3, 2, 7, 5), mask, importance)


def _refused(*words, **fields):
    """Building the object (should SceneObject check its fields itself) or validating it is refused."""
    with pytest.raises(InvalidObjectError) as caught:
        validate_objects([_object(object_id=7), _object(**fields)], H, W)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("label", [5, None, b"cat", ["cat"]])
def test_a_label_that_is_not_a_string_is_refused(label):
    _refused("label", "str", label=label)


def test_a_label_with_a_lone_surrogate_or_too_long_is_refused():
    assert "object 1" in _refused("surrogate", label="a\ud800b")
    _refused("255", label="é" * 128)
    validate_objects([_object(label="é" * 127)], H, W)


@pytest.mark.parametrize("mask, words", [
    (MASK.tolist(), ("NumPy", "np.asarray")), (MASK.astype(np.uint8), ("boolean", "astype(bool)")),
    (MASK.astype(float), ("boolean",)), (MASK[:, :5], ("shape",)), (None, ("NumPy",)), ("mask", ("NumPy",)),
])
def test_a_mask_that_is_not_a_boolean_array_of_the_image_size_is_refused(mask, words):
    _refused("mask", *words, mask=mask)


@pytest.mark.parametrize("importance", ["0.5", None, True, float("nan"), float("inf"), -float("inf"), 1e39, -1e39,
                                        10**400, np.float64(np.inf), [0.5]])
def test_an_importance_that_float32_cannot_hold_is_refused(importance):
    _refused("importance", importance=importance)


@pytest.mark.parametrize("importance", [0, 1, 0.5, -2.0, MAX_IMPORTANCE, -MAX_IMPORTANCE, np.float32(0.3), np.int64(3)])
def test_importances_that_fit_float32_are_accepted(importance):
    validate_objects([_object(importance=importance)], H, W)


@pytest.mark.parametrize("object_id", [1.5, 1.0, True, np.bool_(True), "1", None, -1, 2**32, 10**400])
def test_an_object_id_that_is_not_a_whole_number_in_range_is_refused(object_id):
    _refused("object_id", object_id=object_id)


def test_whole_number_ids_are_accepted_and_checked_for_uniqueness():
    validate_objects([_object(0), _object(np.int64(5)), _object(2**32 - 1)], H, W)
    with pytest.raises(InvalidObjectError, match="used twice"):
        validate_objects([_object(3), _object(np.int32(3))], H, W)


def test_not_a_list_of_scene_objects_is_refused():
    with pytest.raises(InvalidObjectError, match="list"):
        validate_objects((_object() for _ in range(2)), H, W)
    with pytest.raises(InvalidObjectError, match="not a SceneObject"):
        validate_objects([{"object_id": 1}], H, W)


def test_too_many_objects_are_refused_up_front():
    assert MAX_OBJECTS == 65534
    many = [_object(i) for i in range(MAX_OBJECTS + 1)]
    start = time.perf_counter()
    with pytest.raises(InvalidObjectError, match="65534"):
        validate_objects(many, H, W)
    with pytest.raises(InvalidObjectError, match="65534"):
        encode(np.zeros((H, W, 3), np.uint8), many)
    assert time.perf_counter() - start < 5.0  # before any coding work (it took 10 s, then struct.error)


@pytest.mark.parametrize("fields", [{"importance": 1e39}, {"label": 7}, {"label": "\udfff"}, {"mask": MASK.tolist()},
                                    {"importance": "high"}, {"object_id": 1.5}])
def test_encode_refuses_them_instead_of_a_traceback(fields):
    with pytest.raises(InvalidObjectError):
        encode(np.zeros((H, W, 3), np.uint8), [_object(**fields)])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.booleans(), st.none()),
       st.one_of(st.integers(), st.floats(), st.text(max_size=4), st.booleans(), st.none()),
       st.one_of(st.text(max_size=300), st.integers(), st.none()))
def test_any_field_values_pass_or_give_an_invalid_object_error(object_id, importance, label):
    try:
        validate_objects([_object(object_id=object_id, importance=importance, label=label)], H, W)
    except InvalidObjectError:
        return
    assert isinstance(object_id, int) and 0 <= object_id < 2**32 and not isinstance(object_id, bool)
    assert abs(float(importance)) <= MAX_IMPORTANCE and isinstance(label, str)
