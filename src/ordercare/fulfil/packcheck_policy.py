"""Pack-check policy: the packaging model and the knobs of the learning weight check.

Rules are data: the weight of an empty box, how loose the check is before it has learnt
anything and how much evidence it wants before trusting itself are warehouse facts that an
operations lead tunes without touching Python. The file loads into strict models through
``ordercare.rules``, so a typo stops start-up with the file, the path inside it and the line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from ordercare.rules import StrictModel, load_packaged_rules, load_rules

POLICY_FILE = "packcheck_policy.yaml"


class PackagingClass(StrictModel):
    """One kind of packaging and the content it is used for (first fit wins).

    The class is inferred from catalogue content weight and item count because that is how a
    WMS picks the box; when a station records the box it used, the caller passes its name.
    """

    name: str = Field(min_length=1)
    max_content_g: float | None = Field(default=None, gt=0)
    max_items: int | None = Field(default=None, ge=1)
    weight_g: float = Field(ge=0)
    weight_cv: float = Field(ge=0, le=0.5)

    def fits(self, content_g: float, items: int) -> bool:
        """True when a parcel with this content would be packed in this class."""
        if self.max_content_g is not None and content_g > self.max_content_g:
            return False
        return self.max_items is None or items <= self.max_items


class ScaleSpec(StrictModel):
    """The scale's own noise: small next to packaging and product spread, but never zero."""

    noise_g: float = Field(gt=0, le=100)


class DefaultTolerance(StrictModel):
    """Tolerance used until there is history: ``max(abs_g, rel x expected)``."""

    abs_g: float = Field(gt=0)
    rel: float = Field(gt=0, lt=1)


class Learning(StrictModel):
    """How much history is enough, how long it is kept, and how the tails are calibrated."""

    min_history: int = Field(ge=2)
    class_min_history: int = Field(ge=20)
    offset_min_history: int = Field(ge=5)
    sku_window: int = Field(ge=5)
    class_window: int = Field(ge=50)
    unit_cv_prior: float = Field(gt=0, lt=1)
    unit_cv_floor: float = Field(ge=0, lt=1)
    k_sigma: float = Field(gt=1)
    tail_quantile: float = Field(gt=0.5, lt=1)
    k_sigma_max: float = Field(gt=1)
    min_tolerance_g: float = Field(ge=0)


class CatalogueFlags(StrictModel):
    """When a SKU's catalogue weight is called wrong: big enough to matter, and proven."""

    flag_min_evidence: int = Field(ge=2)
    flag_abs_g: float = Field(ge=0)
    flag_rel: float = Field(ge=0, lt=1)
    flag_z: float = Field(gt=0)


class PackCheckPolicy(StrictModel):
    """The whole pack-check policy file."""

    packaging: tuple[PackagingClass, ...] = Field(min_length=1)
    scale: ScaleSpec
    default_tolerance: DefaultTolerance
    learning: Learning
    catalogue: CatalogueFlags

    @field_validator("packaging")
    @classmethod
    def _catch_all_last_and_unique(
        cls, classes: tuple[PackagingClass, ...]
    ) -> tuple[PackagingClass, ...]:
        names = [c.name for c in classes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"packaging class names must be unique; repeated: {dupes}")
        last = classes[-1]
        if last.max_content_g is not None or last.max_items is not None:
            raise ValueError(
                f"the last packaging class ({last.name!r}) must be the catch-all: "
                "remove its max_content_g and max_items"
            )
        return classes

    @model_validator(mode="after")
    def _windows_hold_the_history(self) -> PackCheckPolicy:
        """A window shorter than the history it must reach would never be trusted."""
        lr, cat = self.learning, self.catalogue
        needs = [
            ("learning.sku_window", lr.sku_window, "learning.min_history", lr.min_history),
            (
                "learning.sku_window",
                lr.sku_window,
                "catalogue.flag_min_evidence",
                cat.flag_min_evidence,
            ),
            (
                "learning.class_window",
                lr.class_window,
                "learning.class_min_history",
                lr.class_min_history,
            ),
            (
                "learning.class_window",
                lr.class_window,
                "learning.offset_min_history",
                lr.offset_min_history,
            ),
            ("learning.k_sigma_max", lr.k_sigma_max, "learning.k_sigma", lr.k_sigma),
        ]
        for name, value, other, minimum in needs:
            if value < minimum:
                raise ValueError(f"{name} ({value}) must be at least {other} ({minimum})")
        return self

    def packaging_for(self, content_g: float, items: int) -> PackagingClass:
        """The packaging class a parcel with this content goes into."""
        return next(c for c in self.packaging if c.fits(content_g, items))

    def packaging_named(self, name: str) -> PackagingClass:
        """The packaging class called ``name``; the error lists the known ones."""
        for c in self.packaging:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.packaging)
        raise ValueError(f"unknown packaging {name!r}; known: {known}")


def load_policy(path: str | Path | None = None) -> PackCheckPolicy:
    """Load the policy from ``path``, or the packaged default when no path is given."""
    if path is None:
        return load_packaged_rules("ordercare.fulfil", POLICY_FILE, PackCheckPolicy)
    return load_rules(path, PackCheckPolicy)
