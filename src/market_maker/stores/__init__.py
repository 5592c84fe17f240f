"""Persistence of the bot state behind one interface."""
