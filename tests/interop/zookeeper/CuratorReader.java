// Curator's service discovery reading what grpc-registrar wrote (format: curator):
// ServiceDiscovery.queryForInstances, every 100 ms, prints the instances at start and after each
// change, one line each time: "INSTANCES id=address:port/gRPC_port,..." sorted by id ("INSTANCES"
// alone when there are none). Runs until killed. Args: connect string, base path, service name.
// (Curator's ServiceCache, its watch, lives in curator-recipes, which Debian does not package
// with libcurator-discovery-java.)
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryForever;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.springframework.cloud.zookeeper.discovery.ZookeeperInstance;

public class CuratorReader {
  static String describe(List<ServiceInstance<ZookeeperInstance>> instances) {
    List<String> out = new ArrayList<>();
    for (ServiceInstance<ZookeeperInstance> i : instances) {
      String grpc = i.getPayload() == null ? "" : i.getPayload().getMetadata().get("gRPC_port");
      out.add(i.getId() + "=" + i.getAddress() + ":" + i.getPort() + "/" + grpc);
    }
    Collections.sort(out);
    return "INSTANCES " + String.join(",", out);
  }

  public static void main(String[] args) throws Exception {
    CuratorFramework client =
        CuratorFrameworkFactory.newClient(args[0], 5000, 2000, new RetryForever(200));
    client.start();
    ServiceDiscovery<ZookeeperInstance> discovery =
        ServiceDiscoveryBuilder.builder(ZookeeperInstance.class)
            .client(client)
            .basePath(args[1])
            .serializer(new JsonInstanceSerializer<>(ZookeeperInstance.class))
            .build();
    discovery.start();
    String last = null;
    while (true) {
      String now;
      try {
        now = describe(new ArrayList<>(discovery.queryForInstances(args[2])));
      } catch (Exception e) {
        now = "ERROR " + e.getClass().getSimpleName();
      }
      if (!now.equals(last)) {
        System.out.println(now);
        System.out.flush();
        last = now;
      }
      Thread.sleep(100);
    }
  }
}
