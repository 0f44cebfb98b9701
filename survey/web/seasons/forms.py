"""The forms of the 考核年度 pages. The services check the values and say what is wrong."""

from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from survey.domain.checklist import Checklist
from survey.inputs import StrictIntegerField
from survey.web.kit import Form


class SeasonForm(Form):
    name = StringField("考核年度名称", validators=[Length(max=200)])
    year = StrictIntegerField("年度", validators=[Optional()])
    holidays = TextAreaField("节假日调整", validators=[Length(max=20_000)])


class NewSeasonForm(SeasonForm):
    checklist = StringField("考核细则", validators=[Length(max=100)])


class UnitForm(Form):
    name = StringField("单位名称", validators=[Length(max=200)])
    population = StringField("人口（人）", validators=[Length(max=20)])


class LinkForm(Form):
    session_id = StrictIntegerField("测评编号", validators=[Optional()])


class GrantForm(Form):
    username = StringField("用户名", validators=[Length(max=64)])


def facts_form(checklist: Checklist, values: dict[str, str], population) -> Form:
    """One text field per fact of the checklist, and the unit's population."""

    class FactsForm(Form):
        population = StringField("人口（人）", validators=[Length(max=20)])

    for key in checklist.facts:
        setattr(FactsForm, key, StringField(key, validators=[Length(max=50)]))
    return FactsForm(data={**values, "population": "" if population is None else str(population)})
