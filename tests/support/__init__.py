"""What tests share: factories, fixtures' helpers and the clock. Imported by tests;
never imported from a conftest module."""
