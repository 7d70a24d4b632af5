import argparse
import os

parser = argparse.ArgumentParser()
parser.add_argument("--greeting", default="hello")
args = parser.parse_args()
print(args.greeting, flush=True)
print("job:", os.environ.get("RAYMAKER_JOB_NAME"))
