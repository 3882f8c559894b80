wrk.method="POST"
wrk.headers["Content-Type"]="application/json"
wrk.body=[[{"user": 42, "page": "/home", "ref": "https://example.com/some/path?x=1", "ua": "Mozilla/5.0"}]]
