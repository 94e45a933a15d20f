"""The analyst's and the editor's pages: views, forms, template tags, history and revert, import
and export, and the Markdown renderer. It sits on top of the domain and calls the same selectors
and services as the API; nothing below imports it.
"""
