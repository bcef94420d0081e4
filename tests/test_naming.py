"""Class names: checking, lookup, the Hungarian match from examples, and storage in checkpoints."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.testing import assert_close

from infogan import InfoGAN, InfoGANError, LatentSpec, ModelConfig, checkpoint, naming
from infogan.model import Encoding
from infogan.run import CHECKPOINT_NAME

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture
def model():
    return InfoGAN(ModelConfig(LatentSpec(categorical=(10, 3), continuous=1)))


@pytest.mark.parametrize("bad", ["", "  ", "7", "-1.5", "1e3", "a,b", "x=y", "tab\there", "n" * 41])
def test_bad_names_are_refused(bad):
    with pytest.raises(InfoGANError, match="class name"):
        naming.check_name(bad)


def test_names_are_checked_against_the_layout(model):
    assert naming.check_names(model.spec, {"c2": ["a", None, " b "]}) == {"c2": ["a", None, "b"]}
    assert naming.check_names(model.spec, {"c2": ["a", "", "b"]}) == {"c2": ["a", None, "b"]}
    with pytest.raises(InfoGANError, match="c2 has 3 classes"):
        naming.check_names(model.spec, {"c2": ["a", "b"]})
    with pytest.raises(InfoGANError, match="must differ"):
        naming.check_names(model.spec, {"c2": ["a", "a", None]})
    with pytest.raises(InfoGANError, match="c3 is continuous"):
        naming.check_names(model.spec, {"c3": ["a"]})
    with pytest.raises(InfoGANError, match="unknown code 'c9'"):
        naming.check_names(model.spec, {"c9": ["a"]})


def test_parse_assignment():
    assert naming.parse_assignment("c1=zero, one,,three") == ("c1", ["zero", "one", None, "three"])
    with pytest.raises(InfoGANError, match="CODE=NAME"):
        naming.parse_assignment("zero,one")


def test_class_index_takes_indices_and_names(model):
    names = {"c1": [*DIGITS[:9], None]}
    assert naming.class_index(model.spec, names, "c1", "seven") == 7
    assert naming.class_index(model.spec, names, "c1", 9) == 9
    assert naming.class_index(model.spec, names, "c1", "3") == 3
    with pytest.raises(InfoGANError, match="no class named 'ten'; its names: zero, one"):
        naming.class_index(model.spec, names, "c1", "ten")
    with pytest.raises(InfoGANError, match=r"give a class in 0\.\.9, not 10"):
        naming.class_index(model.spec, names, "c1", 10)
    with pytest.raises(InfoGANError, match="name them with infogan name"):
        naming.class_index(model.spec, {}, "c2", "red")
    assert naming.label(names, "c1", 9) == "9" and naming.label(names, "c1", 2) == "two"


def test_match_names_is_one_to_one_and_maximises_the_likelihood():
    # "b" and "a" both prefer class 0. Taking names in order would give it to "b" and leave "a"
    # with a class its examples rule out; the match gives it to "a", whose examples lose most
    # without it, and "b" its close second.
    scores = {
        "b": np.log([[0.50, 0.45, 0.05]]),
        "a": np.log([[0.90, 0.05, 0.05], [0.80, 0.10, 0.10]]),
        "c": np.log([[0.40, 0.10, 0.50]]),
    }
    assert naming.match_names(scores) == {"b": 1, "a": 0, "c": 2}
    # fewer names than classes: each still gets a class of its own
    assert naming.match_names({"b": scores["b"], "c": scores["c"]}) == {"b": 0, "c": 2}
    with pytest.raises(InfoGANError, match="4 names for 3 classes"):
        naming.match_names({**scores, "d": scores["c"]})


class BrightnessReader(InfoGAN):
    """A model whose Q puts an image in the class of its mean brightness (10 levels), so the
    right answer of a naming is known."""

    def encode(self, images, *, batch_size=1024):
        levels = (torch.as_tensor(images).float().mean(dim=(1, 2, 3)) * 9.999).long().clamp(0, 9)
        probs = torch.full((len(levels), 10), 0.01)
        probs[torch.arange(len(levels)), levels] = 0.91
        return Encoding({"c1": probs}, {}, {})


def _write_examples(root, brightness_of_name, k=3):
    for name, level in brightness_of_name.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(k):
            pixels = np.full((28, 28), int((level + 0.5) / 10 * 255), np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.png")


def test_names_from_examples_with_fewer_names_and_an_unreadable_file(tmp_path):
    model = BrightnessReader(ModelConfig())
    _write_examples(tmp_path, {"dim": 2, "bright": 8, "dark": 0})
    (tmp_path / "dim" / "broken.png").write_bytes(b"not a png")
    match = model.name_from_examples(tmp_path)
    assert match.code == "c1" and match.classes == {"dim": 2, "bright": 8, "dark": 0}
    assert match.hits == {"dim": 1.0, "bright": 1.0, "dark": 1.0}
    assert match.examples == {"dim": 3, "bright": 3, "dark": 3}
    assert len(match.skipped) == 1 and match.skipped[0].endswith("broken.png")
    assert model.names["c1"] == ["dark", None, "dim", *[None] * 5, "bright", None]
    with pytest.raises(InfoGANError, match="cannot read image"):
        model.name_from_examples(tmp_path, strict=True)


def test_names_from_examples_refuses_bad_folders(tmp_path):
    model = BrightnessReader(ModelConfig())
    with pytest.raises(InfoGANError, match="no subfolders"):
        model.name_from_examples(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InfoGANError, match="no images found"):
        model.name_from_examples(tmp_path)
    _write_examples(tmp_path / "more", {f"n{i}": i for i in range(10)} | {"extra": 5}, k=1)
    with pytest.raises(InfoGANError, match="11 names for the 10 classes"):
        model.name_from_examples(tmp_path / "more")
    _write_examples(tmp_path / "numeric", {"7": 7}, k=1)
    with pytest.raises(InfoGANError, match="must be a word"):
        model.name_from_examples(tmp_path / "numeric")
    with pytest.raises(InfoGANError, match="c2 is continuous"):
        model.name_from_examples(tmp_path / "numeric", code="c2")


def test_names_are_used_by_generate_encode_and_traversal_labels(model):
    model.set_names("c1", DIGITS)
    assert_close(model.generate(3, codes={"c1": "seven"}, seed=2), model.generate(3, codes={"c1": 7}, seed=2))
    with pytest.raises(InfoGANError, match="c3 is continuous: give a number"):
        model.generate(1, codes={"c3": "seven"})
    encoding = model.encode(model.generate(4, seed=0))
    records = encoding.records()
    assert [r["c1_name"] for r in records] == encoding.class_names("c1")
    assert records[0]["c1_name"] == DIGITS[records[0]["c1"]] and "c2_name" not in records[0]
    assert model.row_labels("c1") == [f"c1={d}" for d in DIGITS]
    assert model.row_labels("c3") == [f"c1={d}" for d in DIGITS]  # continuous: rows are c1's classes
    assert model.row_labels("c2") == ["c2=0", "c2=1", "c2=2"]


def test_annotations_are_stored_atomically_keeping_tensors_and_metadata(model, tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    extra = {"optim.d.0.exp_avg": torch.arange(6.0)}
    checkpoint.write(path, {**model.weights(), **extra}, {**model.metadata(), "step": 12, "train_config": {"a": 1}})
    loaded = InfoGAN.load(tmp_path, device="cpu")
    assert loaded.names == {} and loaded.source == path
    loaded.set_names("c2", ["red", None, "blue"])
    assert loaded.save_annotations() == path
    tensors, meta = checkpoint.read(path)
    assert_close(tensors["optim.d.0.exp_avg"], extra["optim.d.0.exp_avg"])
    assert meta["step"] == 12 and meta["train_config"] == {"a": 1}
    assert meta["names"] == {"c2": ["red", None, "blue"]}
    assert meta["annotated_at"] == {"names": 12}  # the step of the weights they were chosen for
    assert not list(tmp_path.glob("*.tmp"))
    again = InfoGAN.load(path, device="cpu")
    assert again.names == {"c2": ["red", None, "blue"]}
    assert_close(again.generate(2, codes={"c2": "blue"}, seed=0), model.generate(2, codes={"c2": 2}, seed=0))
    again.set_names("c2", [None, None, None])  # clearing removes the key
    again.save_annotations()
    assert not {"names", "annotated_at"} & set(checkpoint.read_metadata(path))


def test_a_damaged_names_entry_is_one_line(model, tmp_path):
    path = tmp_path / "m.safetensors"
    checkpoint.write(path, model.weights(), {**model.metadata(), "names": {"c1": ["a", "b"]}})
    with pytest.raises(InfoGANError, match="c1 has 10 classes"):
        InfoGAN.load(path, device="cpu")
