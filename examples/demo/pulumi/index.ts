import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const apiKey = config.requireSecret("apiKey");

class PaymentsService extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("payments:index:Service", name, {}, opts);
    const table = new aws.dynamodb.Table("ledger", {
      attributes: [{ name: "id", type: "S" }],
      hashKey: "id",
      billingMode: "PAY_PER_REQUEST",
    }, { parent: this, protect: true });
    const queue = new aws.sqs.Queue("settlements", {}, { parent: this, retainOnDelete: true });
    const fn = new aws.lambda.Function("handler", {
      runtime: "nodejs20.x",
      handler: "index.handler",
      role: "arn:aws:iam::111122223333:role/payments-api",
      code: new pulumi.asset.FileArchive("./app"),
      environment: { variables: { TABLE: table.name, QUEUE: queue.url, API_KEY: apiKey } },
    }, { parent: this });
    this.url = fn.invokeArn;
    this.registerOutputs({ url: this.url });
  }
}

const service = new PaymentsService("payments");
export const apiUrl = service.url;
export const apiKeyOut = apiKey;
