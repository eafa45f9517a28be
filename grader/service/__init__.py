"""The course service: an HTTP API over a database that is also the grading queue.

`grader serve` runs the API (app.py) and worker processes (worker.py); students send work with
`grader submit` (grader.service.submit). The API process stores uploads as bytes and never imports or
runs them: only workers grade, through the same engine and sandbox as `grader grade`.
Needs the `service` extra: pip install 'grader[service]'.
"""
