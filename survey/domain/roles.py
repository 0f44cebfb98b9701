"""Subject roles and rating options shared by the domain, the ORM and the templates."""

from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members carry the Chinese label users see: `DRAFT = "draft", "准备中"`.

    The value (stored in the database, sent in forms) stays the English word.
    """

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class SubjectRole(Labelled):
    """Role of a 测评对象 in the assessment."""

    TEAM = "team", "领导班子"
    PRINCIPAL = "principal", "主要负责人"
    MEMBER = "member", "班子成员"

    @classmethod
    def from_label(cls, text: str) -> "SubjectRole":
        """Return the role for a Chinese label such as 领导班子; raise ValueError otherwise."""
        try:
            return _ROLES_BY_LABEL[text.strip()]
        except KeyError:
            raise ValueError(f"“{text}” 不是 领导班子、主要负责人、班子成员 之一") from None


# Seed 002 says 其他(领导)班子成员 for members; paper tally sheets use either form.
_ROLES_BY_LABEL: dict[str, SubjectRole] = {
    **{role.label: role for role in SubjectRole},
    "其他班子成员": SubjectRole.MEMBER,
    "其他领导班子成员": SubjectRole.MEMBER,
    "领导班子成员": SubjectRole.MEMBER,
}


class Rating(Labelled):
    """One answer on the 好 / 较好 / 一般 / 差 scale."""

    GOOD = "good", "好"
    FAIRLY_GOOD = "fairly_good", "较好"
    AVERAGE = "average", "一般"
    POOR = "poor", "差"

    @property
    def is_good_or_better(self) -> bool:
        """Tell whether this answer counts towards 较好以上率."""
        return self in (Rating.GOOD, Rating.FAIRLY_GOOD)
