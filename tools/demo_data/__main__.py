"""`python -m tools.demo_data --out DIR --customers N --seed S`: write the demo raw tables."""

from tools.demo_data import main

main()
