"""Subject roles and rating options shared by the domain, the ORM and the templates."""

from enum import StrEnum


class SubjectRole(StrEnum):
    """Role of a 测评对象 in the assessment."""

    TEAM = "team"
    PRINCIPAL = "principal"
    MEMBER = "member"

    @property
    def label(self) -> str:
        """Return the Chinese label shown to users."""
        return ROLE_LABELS[self]

    @classmethod
    def from_label(cls, text: str) -> "SubjectRole":
        """Return the role for a Chinese label such as 领导班子; raise ValueError otherwise."""
        try:
            return _ROLES_BY_LABEL[text.strip()]
        except KeyError:
            raise ValueError(f"“{text}” 不是 领导班子、主要负责人、班子成员 之一") from None


ROLE_LABELS: dict[SubjectRole, str] = {
    SubjectRole.TEAM: "领导班子",
    SubjectRole.PRINCIPAL: "主要负责人",
    SubjectRole.MEMBER: "班子成员",
}

# Seed 002 says 其他(领导)班子成员 for members; paper tally sheets use either form.
_ROLES_BY_LABEL: dict[str, SubjectRole] = {
    **{label: role for role, label in ROLE_LABELS.items()},
    "其他班子成员": SubjectRole.MEMBER,
    "其他领导班子成员": SubjectRole.MEMBER,
    "领导班子成员": SubjectRole.MEMBER,
}


class Rating(StrEnum):
    """One answer on the 好 / 较好 / 一般 / 差 scale."""

    GOOD = "good"
    FAIRLY_GOOD = "fairly_good"
    AVERAGE = "average"
    POOR = "poor"

    @property
    def label(self) -> str:
        """Return the Chinese label shown to users."""
        return RATING_LABELS[self]

    @property
    def is_good_or_better(self) -> bool:
        """Tell whether this answer counts towards 较好以上率."""
        return self in (Rating.GOOD, Rating.FAIRLY_GOOD)


RATING_LABELS: dict[Rating, str] = {
    Rating.GOOD: "好",
    Rating.FAIRLY_GOOD: "较好",
    Rating.AVERAGE: "一般",
    Rating.POOR: "差",
}
