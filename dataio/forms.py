from django import forms

from crm.validators import CSV_MAX_BYTES, CSV_MAX_COLUMNS
from dataio.importing import TARGET_FIELDS
from dataio.models import ImportJob


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A spreadsheet saved as CSV, or a customer export from Square or Shopify. "
        f"Up to {CSV_MAX_BYTES // 2**20} MB and {CSV_MAX_COLUMNS} columns.",
        max_length=255,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: which customer field it feeds, or none."""

    date_order = forms.ChoiceField(
        choices=ImportJob.DateOrder.choices,
        widget=forms.RadioSelect,
        label="Dates like 03/04/1990 mean",
    )

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— ignore this column —")] + list(TARGET_FIELDS.items())
        self.columns = []
        for index, header in enumerate(job.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=header or f"Column {index + 1}",
                initial=job.mapping.get(str(index), ""),
            )
            self.columns.append(name)
        self.fields["date_order"].initial = job.date_order

    def mapping(self) -> dict[str, str]:
        return {name.removeprefix("col_"): self.cleaned_data.get(name, "") for name in self.columns}


class StartForm(forms.Form):
    mode = forms.ChoiceField(
        choices=ImportJob.Mode.choices,
        widget=forms.RadioSelect,
        initial=ImportJob.Mode.ALL_OR_NOTHING,
        label="Which rows",
    )
    on_match = forms.ChoiceField(
        choices=ImportJob.OnMatch.choices,
        widget=forms.RadioSelect,
        initial=ImportJob.OnMatch.SKIP,
        label="When a row has the email or phone of an existing customer",
    )


class EraseForm(forms.Form):
    confirm_name = forms.CharField(label="Type the customer's full name to confirm", max_length=250)
