"""Tests of the maelstrom package: python3 -m unittest discover -s python/tests -t python"""
