"""Unit maps: their inverse and checks, and calibration on a model whose images are known shapes."""

import math

import numpy as np
import pytest
import torch
from drawn_shapes import DEGREES_PER_UNIT, BarModel, draw_bars
from numpy.testing import assert_allclose

from infogan import InfoGAN, InfoGANError, LatentSpec, ModelConfig, checkpoint, properties
from infogan.calibration import UnitMap, calibrate, codes_for_units, maps_from_metadata

RISING = UnitMap("c2", "slant", "deg", 0.9, (-2.0, -1.0, 0.0, 1.0, 2.0), (-25.0, -10.0, 0.0, 0.0, 30.0))


def test_a_unit_map_and_its_inverse():
    assert RISING.column == "slant_deg" and RISING.reach == (-25.0, 30.0)
    assert_allclose(RISING.to_value([-2.0, -1.5, 1.5, 9.0]), [-25.0, -17.5, 15.0, 30.0])  # clamped past the ends
    assert RISING.to_code(-17.5) == pytest.approx(-1.5)
    assert RISING.to_code(15.0) == pytest.approx(1.5)
    assert RISING.to_code(0.0) == pytest.approx(0.5)  # a flat stretch maps back to its middle
    falling = UnitMap("c3", "thickness", "px", -0.8, (-1.0, 0.0, 1.0), (4.0, 3.0, 1.5))
    assert falling.to_code(2.25) == pytest.approx(0.5) and falling.reach == (1.5, 4.0)
    with pytest.raises(InfoGANError, match=r"slant=40 deg is out of reach: c2 spans -25..30 deg"):
        RISING.to_code(40.0)


def test_unit_maps_are_checked_and_round_trip():
    assert UnitMap.from_dict("c2", RISING.as_dict()) == RISING
    with pytest.raises(InfoGANError, match="not a monotone map"):
        UnitMap("c2", "slant", "deg", 0.9, (0.0, 1.0, 2.0), (0.0, 2.0, 1.0))
    assert UnitMap("c2", "slant", "deg", 0.0, (0.0, 1.0), (1.0, 1.0)).to_code(1.0) == 0.5  # ρ = 0: a flat map
    with pytest.raises(InfoGANError, match="two or more finite knots"):
        UnitMap("c2", "slant", "deg", 0.9, (0.0,), (1.0,))
    with pytest.raises(InfoGANError, match="calibration of c2 is damaged"):
        UnitMap.from_dict("c2", {"property": "slant"})
    with pytest.raises(InfoGANError, match="c1, not a continuous code"):
        maps_from_metadata({"c1": RISING.as_dict()}, ["c2", "c3"])


def test_requests_in_units_name_the_property_or_its_column():
    assert codes_for_units({"c2": RISING}, {"slant": 15}) == pytest.approx({"c2": 1.5})
    assert codes_for_units({"c2": RISING}, {"slant_deg": -10}) == pytest.approx({"c2": -1.0})
    with pytest.raises(InfoGANError, match=r"calibrated in 'thickness'; calibrated: slant \(c2\)"):
        codes_for_units({"c2": RISING}, {"thickness": 2})
    with pytest.raises(InfoGANError, match="none: run infogan calibrate"):
        codes_for_units({}, {"slant": 2})


@pytest.fixture
def bars():
    return BarModel(ModelConfig())


def test_calibration_finds_which_code_drives_which_property(bars):
    result = calibrate(bars, steps=9, draws=8, candidates=["slant", "thickness", "height"])
    assert result.correlation["c2"]["slant_deg"] == pytest.approx(1.0)
    assert result.correlation["c3"]["thickness_px"] > 0.9
    assert result.correlation["c2"]["height_px"] == 0.0  # the bar's height never changes
    assert {c: (m.property, m.unit) for c, m in result.maps.items()} == {
        "c2": ("slant", "deg"),
        "c3": ("thickness", "px"),
    }
    slant = result.maps["c2"]
    assert_allclose(slant.code_knots, np.linspace(-2, 2, 9))
    assert_allclose(slant.value_knots, DEGREES_PER_UNIT * np.linspace(-2, 2, 9), atol=0.2)
    assert slant.to_code(20.0) == pytest.approx(20.0 / DEGREES_PER_UNIT, abs=0.02)
    assert "slant_deg" in result.table() and "+1.00*" in result.table()


def test_calibration_options(bars):
    forced = calibrate(bars, steps=3, draws=4, fixed={"c3": "ink"})
    assert forced.maps["c3"].property == "ink" and forced.maps["c2"].property == "slant"
    assert calibrate(bars, steps=3, draws=4, candidates=["height"]).maps == {}  # nothing correlates enough
    with pytest.raises(InfoGANError, match="hue does not apply to these images"):
        calibrate(bars, candidates=["hue"])
    with pytest.raises(InfoGANError, match="at least 3 steps"):
        calibrate(bars, steps=2)
    with pytest.raises(InfoGANError, match="only continuous codes take units"):
        calibrate(bars, fixed={"c1": "slant"})
    with pytest.raises(InfoGANError, match="no continuous code"):
        calibrate(InfoGAN(ModelConfig(LatentSpec(continuous=0))))


def test_generate_in_units_and_read_units_back(bars, tmp_path):
    bars.calibrate(steps=9, draws=8, candidates=["slant", "thickness"])
    images = bars.generate(16, units={"slant": 20.0}, seed=0)
    assert_allclose(properties.slant(images.numpy()), 20.0, atol=0.5)
    with pytest.raises(InfoGANError, match="c2 was set both directly and through its unit"):
        bars.generate(1, codes={"c2": 0.0}, units={"slant": 5.0})
    with pytest.raises(InfoGANError, match=r"out of reach: c2 spans -30\.\.30 deg"):
        bars.generate(1, units={"slant": 45.0})
    # Q's reading in units: a reading of c2 = 1 is 15°
    from infogan.model import Encoding

    reading = Encoding({}, {"c2": torch.tensor([1.0, -0.5]), "c3": torch.zeros(2)}, {}, {}, dict(bars.calibration))
    assert_allclose(reading.in_units()["slant_deg"], [15.0, -7.5], atol=0.2)
    assert reading.records()[0]["slant_deg"] == pytest.approx(15.0, abs=0.2)
    # the maps are stored with the model
    path = tmp_path / "m.safetensors"
    bars.save(path)
    assert checkpoint.read_metadata(path)["calibration"]["c2"]["property"] == "slant"
    loaded = InfoGAN.load(path, device="cpu")
    assert loaded.calibration == bars.calibration


def test_the_drawn_bars_are_what_the_test_assumes():
    images = draw_bars(np.array([0.0, 30.0]), np.array([3.0, 3.0]), np.zeros(2))
    assert_allclose(properties.slant(images), [0.0, 30.0], atol=0.05)
    assert_allclose(properties.height(images), [20.0, 20.0])
    assert math.isclose(images[0].sum(), 60.0, rel_tol=1e-6)
