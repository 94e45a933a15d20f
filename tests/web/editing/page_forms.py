"""Read a page's forms and submit them as a browser would (without JavaScript), so that a test
posts exactly what the page offers: its hidden fields, the values it shows, the radio buttons
picked, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.http import HttpResponse
from django.test import Client

SUBMITTED_INPUTS = {"hidden", "text", "date", "number", "url", "email", "password", "search"}


@dataclass
class PageForm:
    action: str
    method: str
    values: list[tuple[str, str]] = field(default_factory=list)  # as submitted, in order
    radios: dict[str, list[str]] = field(default_factory=dict)  # name -> values offered
    buttons: list[str] = field(default_factory=list)

    def names(self) -> set[str]:
        return {name for name, _ in self.values} | set(self.radios)

    def data(self, **changes: str | None) -> dict[str, list[str]]:
        """The submission, with `changes` (None: leave the field out, as an unticked box)."""
        unknown = set(changes) - self.names()
        assert not unknown, f"the form has no field {sorted(unknown)}"
        for name, value in changes.items():
            if name in self.radios and value is not None:
                assert value in self.radios[name], f"{name} offers {self.radios[name]}"
        out: dict[str, list[str]] = {}
        for name, value in self.values:
            out.setdefault(name, []).append(value)
        for name, value in changes.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = [value]
        return out

    def submit(self, client: Client, **changes: str | None) -> HttpResponse:
        assert self.method == "post"
        return client.post(self.action, self.data(**changes))


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self.form: PageForm | None = None
        self.textarea: tuple[str, list[str]] | None = None
        self.select: tuple[str, list[tuple[str, bool]]] | None = None
        self.option: list | None = None  # [value or None, selected, text parts]
        self.button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.form = PageForm(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        kind = a.get("type", "text").lower()
        name = a.get("name")
        if tag == "input" and kind in ("submit", "button"):
            self.form.buttons.append(a.get("value", ""))
        elif tag == "input" and name and kind in SUBMITTED_INPUTS:
            self.form.values.append((name, a.get("value", "")))
        elif tag == "input" and name and kind in ("checkbox", "radio"):
            if kind == "radio":
                self.form.radios.setdefault(name, []).append(a.get("value", "on"))
            if "checked" in a:
                self.form.values.append((name, a.get("value", "on")))
        elif tag == "textarea" and name:
            self.textarea = (name, [])
        elif tag == "select" and name:
            self.select = (name, [])
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "selected" in a, []]
        elif tag == "button" and a.get("type", "submit") == "submit" and "form" not in a:
            self.button = []

    def handle_data(self, data: str) -> None:
        for collecting in (self.textarea and self.textarea[1], self.button):
            if collecting is not None:
                collecting.append(data)
        if self.option is not None:
            self.option[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "textarea" and self.textarea and self.form:
            name, parts = self.textarea
            text = "".join(parts)
            # A newline straight after <textarea> is not part of the value (HTML's parsing rule).
            self.form.values.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "option" and self.option is not None and self.select is not None:
            value, selected, text = self.option
            self.select[1].append((value if value is not None else "".join(text).strip(), selected))
            self.option = None
        elif tag == "select" and self.select is not None and self.form is not None:
            name, options = self.select
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1]]
            self.form.values.extend((name, v) for v in chosen[:1])
            self.select = None
        elif tag == "button" and self.button is not None and self.form is not None:
            self.form.buttons.append(" ".join("".join(self.button).split()))
            self.button = None


def page_form(response: HttpResponse, button: str) -> PageForm:
    """The form on the page whose submit button's text starts with `button`."""
    reader = _Reader()
    reader.feed(response.content.decode())
    found = [f for f in reader.forms if any(b.startswith(button) for b in f.buttons)]
    assert len(found) == 1, [f.buttons for f in reader.forms]
    return found[0]
