import unittest

from app.utils import parse_settings, slugify, word_count


class TestUtils(unittest.TestCase):
    def test_slugify(self):
        self.assertEqual(slugify("Hello, World!"), "hello-world")
        self.assertEqual(slugify("  api.md "), "api-md")

    def test_parse_settings(self):
        lines = ["name: demo  # comment", "", "output_dir: \"output\"", "junk"]
        self.assertEqual(parse_settings(lines),
                         {"name": "demo", "output_dir": "output"})

    def test_word_count(self):
        self.assertEqual(word_count("one two\nthree"), 3)
        self.assertEqual(word_count(""), 0)


if __name__ == "__main__":
    unittest.main()
