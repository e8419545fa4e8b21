#!/usr/bin/env bash
# The CRM over plain REST with curl. The REST guide quotes this script region by region, and the test suite runs it
# against a started server (GuideSampleTests), so the guide cannot drift from what the server does.
# Usage: SERVER_URL=http://localhost:1337/parse APP_ID=crm USERNAME=dana ./crm.sh
set -euo pipefail

# #region setup
SERVER_URL=${SERVER_URL:-http://localhost:1337/parse}   # in Azure: https://<app>.azurewebsites.net/parse
APP_ID=${APP_ID:-crm}
api() { curl -sS -H "X-Parse-Application-Id: $APP_ID" -H "Content-Type: application/json" "$@"; }
# One field of a JSON answer (jq -r ".$1" does the same where jq is installed).
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
# #endregion

USERNAME=${USERNAME:-dana}
PASSWORD='Guide-sample-1'

# #region sign-up
SESSION=$(api -X POST "$SERVER_URL/users" \
  -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\",\"email\":\"$USERNAME@example.com\"}" | field sessionToken)
# #endregion

# #region log-in
api -X POST "$SERVER_URL/logout" -H "X-Parse-Session-Token: $SESSION" > /dev/null   # ends that session
SESSION=$(api -X POST "$SERVER_URL/login" -d "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}" | field sessionToken)
as_user() { api -H "X-Parse-Session-Token: $SESSION" "$@"; }
# #endregion

# #region restore
# A stored session token is checked (and the user read) with /users/me; 209 means log in again.
ME=$(as_user "$SERVER_URL/users/me" | field objectId)
# #endregion

# #region create-deal
CONTACT=$(as_user -X POST "$SERVER_URL/classes/Contact" -d '{"name":"Ada Lovelace","email":"ada@example.com"}' | field objectId)
DEAL=$(as_user -X POST "$SERVER_URL/classes/Deal" -d "{
  \"title\":\"Fleet renewal\",\"amount\":12000,\"stage\":\"lead\",
  \"contact\":{\"__type\":\"Pointer\",\"className\":\"Contact\",\"objectId\":\"$CONTACT\"},
  \"expectedCloseDate\":{\"__type\":\"Date\",\"iso\":\"2027-03-01T00:00:00.000Z\"}}" | field objectId)
as_user -X PUT "$SERVER_URL/classes/Deal/$DEAL" -d '{"stage":"qualified"}' > /dev/null   # move it along the pipeline
# #endregion

# #region pipeline
# One stage, soonest close first, with the contact; where is URL-encoded JSON.
PIPELINE=$(as_user -G "$SERVER_URL/classes/Deal" \
  --data-urlencode 'where={"stage":"qualified"}' \
  --data-urlencode 'order=expectedCloseDate' \
  --data-urlencode 'include=contact' \
  --data-urlencode 'limit=100')
# #endregion

# #region activities
as_user -X POST "$SERVER_URL/classes/Activity" -d "{\"type\":\"call\",\"subject\":\"Kick-off call\",
  \"relatedTo\":{\"__type\":\"Pointer\",\"className\":\"Deal\",\"objectId\":\"$DEAL\"}}" > /dev/null
ACTIVITIES=$(as_user -G "$SERVER_URL/classes/Activity" \
  --data-urlencode "where={\"relatedTo\":{\"__type\":\"Pointer\",\"className\":\"Deal\",\"objectId\":\"$DEAL\"}}")
# #endregion

# #region errors
# Errors are {"code": N, "error": "..."} with a matching HTTP status: 101 not found (or not yours), 209 invalid
# session, 119 forbidden, 142 validation, 155 too many requests (Retry-After says when to come back).
NOT_FOUND=$(as_user -w ' %{http_code}' "$SERVER_URL/classes/Deal/doesNotExist1")
# #endregion

# #region files
# The body is the file itself, with its own Content-Type (not the JSON one api() sends).
FILE_URL=$(curl -sS -X POST "$SERVER_URL/files/proposal.pdf" -H "X-Parse-Application-Id: $APP_ID" \
  -H "X-Parse-Session-Token: $SESSION" -H "Content-Type: application/pdf" --data-binary '%PDF-1.4 sample' | field url)
DOWNLOADED=$(curl -sS "$FILE_URL")
# #endregion

echo "me=$ME"
echo "deal=$DEAL"
echo "pipeline=$PIPELINE"
echo "activities=$ACTIVITIES"
echo "notFound=$NOT_FOUND"
echo "downloaded=$DOWNLOADED"
