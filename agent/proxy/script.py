"""Entry file for `mitmdump -s`: the addon itself lives in the installed package."""

from agent.capture.addon import AICapture

addons = [AICapture()]
